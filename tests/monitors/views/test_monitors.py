"""The monitor page at /monitors/<id>/, the link every notification carries."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from alerts.payloads import monitor_url
from monitors.models import Monitor, Project
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, monitor: Monitor) -> None:
    response = client.get(f"/monitors/{monitor.id}/")
    assert response["Location"] == f"/accounts/login/?next=/monitors/{monitor.id}/"


def test_the_alert_link_opens_the_monitor_page(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project, name="Nightly backup", interval_seconds=300)
    path = monitor_url(monitor).split("://", 1)[1].split("/", 1)[1]
    assert f"/{path}" == reverse("monitor-detail", args=[monitor.id])
    page = signed_in.get(f"/{path}").content.decode()
    assert "Nightly backup" in page
    assert monitor.ping_url in page
    assert "every 5 minutes" in page
    assert '<span class="status status-new">new</span>' in page


def test_the_monitor_page_makes_its_project_current(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project)
    assert signed_in.get(f"/monitors/{monitor.id}/").context["access"].project == project


@pytest.mark.parametrize("monitor_id", ["strangers", "missing", "huge"])
def test_other_peoples_and_missing_monitors_are_not_found(
    signed_in: Client, strangers_monitor: Monitor, monitor_id: str
) -> None:
    number = {"strangers": strangers_monitor.id, "missing": strangers_monitor.id + 1000, "huge": 2**64}[
        monitor_id
    ]
    response = signed_in.get(f"/monitors/{number}/")
    assert response.status_code == 404
    assert "Their job" not in response.content.decode()
