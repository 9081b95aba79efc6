"""The admin shows stored state, deliveries included, and changes none of it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from alerts.models import Notification
from monitors.models import Monitor
from pings.models import Run
from tests.api.builders import (
    make_attempt,
    make_channel,
    make_incident,
    make_notification,
    make_ping,
    make_run,
)
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "monitors/project",
    "monitors/monitor",
    "monitors/sweeperheartbeat",
    "monitors/sweeperoutage",
    "pings/run",
    "pings/ping",
    "alerts/channel",
    "alerts/incident",
    "alerts/notification",
    "alerts/maintenancewindow",
]


@pytest.fixture
def delivered() -> Notification:
    monitor = MonitorFactory.create(name="Nightly backup")
    run = make_run(monitor, log="copying…")
    make_ping(monitor, run=run)
    channel = make_channel(monitor.project, name="ops hook", secret="whsec_not-for-the-admin")
    notification = make_notification(make_incident(monitor, run=run), channel)
    make_attempt(notification, status_code=503, error="receiver answered 503", latency_ms=41)
    make_attempt(notification, after_seconds=30, status_code=200, latency_ms=12)
    return notification


@pytest.mark.parametrize("model", MODELS)
def test_every_list_renders(admin_client: Client, delivered: Notification, model: str) -> None:
    assert admin_client.get(f"/admin/{model}/").status_code == 200


def test_a_delivery_shows_each_attempt(admin_client: Client, delivered: Notification) -> None:
    page = admin_client.get(reverse("admin:alerts_notification_change", args=[delivered.id]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "receiver answered 503" in text
    # One inline row per attempt, in the tabular inline's own row ids.
    assert 'id="attempts-0"' in text
    assert 'id="attempts-1"' in text
    assert 'id="attempts-2"' not in text


def test_secrets_stay_out_of_the_pages(admin_client: Client, delivered: Notification) -> None:
    monitor = delivered.incident.monitor
    pages = [
        admin_client.get(reverse("admin:monitors_monitor_change", args=[monitor.id])),
        admin_client.get(reverse("admin:monitors_project_change", args=[monitor.project_id])),
        admin_client.get(reverse("admin:alerts_channel_change", args=[delivered.channel_id])),
    ]
    text = "".join(page.content.decode() for page in pages)
    assert all(page.status_code == 200 for page in pages)
    assert str(monitor.ping_uuid) not in text
    assert monitor.project.ping_key not in text
    assert "whsec_not-for-the-admin" not in text


def test_nothing_can_be_changed_here(admin_client: Client, delivered: Notification) -> None:
    monitor = delivered.incident.monitor
    change = reverse("admin:monitors_monitor_change", args=[monitor.id])
    assert admin_client.post(change, {"name": "renamed"}).status_code == 403
    assert admin_client.get(reverse("admin:monitors_monitor_add")).status_code == 403
    delete = reverse("admin:pings_run_delete", args=[Run.objects.get().id])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Monitor.objects.get(id=monitor.id).name == "Nightly backup"
    assert Run.objects.count() == 1


def test_the_admin_needs_a_login(client: Client) -> None:
    response = client.get("/admin/monitors/monitor/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("query", ["status__exact=%00", "q=a%00b", "%00=1", "kind__exact=%00"])
@pytest.mark.parametrize("model", ["monitors/monitor", "pings/run", "pings/ping", "alerts/incident"])
def test_a_filter_holding_a_nul_is_400(
    admin_client: Client, delivered: Notification, model: str, query: str
) -> None:
    assert admin_client.get(f"/admin/{model}/?{query}").status_code == 400
