"""The per-monitor rate limit (CONTRACT §2): `429` with `Retry-After`, nothing stored, refusals counted."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from alerts.models import Incident
from monitors.models import Monitor
from pings.models import Ping
from tests.clock import Clock
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def limit_three(settings: Any) -> None:
    settings.PING_RATE_LIMIT_PER_MINUTE = 3


def refused_of(monitor: Monitor) -> int:
    return Monitor.objects.values_list("pings_refused", flat=True).get(id=monitor.id)


def test_the_ping_over_the_limit_is_refused_with_retry_after_and_not_stored(
    client: Client, monitor: Monitor, clock: Clock, limit_three: None
) -> None:
    clock.at(10)
    for _ in range(3):
        assert client.get(f"/ping/{monitor.ping_uuid}").status_code == 200
    last_ping_at = Monitor.objects.get(id=monitor.id).last_ping_at

    clock.at(17.5)
    response = client.post(f"/ping/{monitor.ping_uuid}/start", data="body", content_type="text/plain")

    assert response.status_code == 429
    # Until the minute that counted the pings ends (12:01:00): 42.5 s, rounded up.
    assert response["Retry-After"] == "43"
    assert "3 pings a minute" in response.content.decode()
    assert response["Ping-Body-Limit"]
    assert Ping.objects.filter(monitor=monitor).count() == 3
    stored = Monitor.objects.get(id=monitor.id)
    assert stored.last_ping_at == last_ping_at
    assert stored.open_runs == 0
    assert refused_of(monitor) == 1


def test_the_next_minute_takes_pings_again(
    client: Client, monitor: Monitor, clock: Clock, limit_three: None
) -> None:
    clock.at(0)
    statuses = [client.get(f"/ping/{monitor.ping_uuid}").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    clock.at(60)
    assert client.get(f"/ping/{monitor.ping_uuid}").status_code == 200
    assert Ping.objects.filter(monitor=monitor).count() == 4
    assert refused_of(monitor) == 2


def test_log_pings_and_slug_urls_count_against_the_same_limit(
    client: Client, monitor: Monitor, clock: Clock, limit_three: None
) -> None:
    clock.at(5)
    by_slug = f"/ping/{monitor.project.ping_key}/{monitor.slug}"
    assert client.get(f"/ping/{monitor.ping_uuid}/log").status_code == 200
    assert client.get(f"{by_slug}/start").status_code == 200
    assert client.get(f"{by_slug}/0").status_code == 200
    assert client.get(f"{by_slug}/log").status_code == 429
    assert client.get(f"/ping/{monitor.ping_uuid}/fail").status_code == 429
    assert Ping.objects.filter(monitor=monitor).count() == 3
    assert refused_of(monitor) == 2


def test_a_refused_failure_opens_no_incident(
    client: Client, monitor: Monitor, clock: Clock, limit_three: None
) -> None:
    clock.at(1)
    for _ in range(3):
        assert client.get(f"/ping/{monitor.ping_uuid}").status_code == 200
    assert client.get(f"/ping/{monitor.ping_uuid}/fail").status_code == 429
    assert not Incident.objects.filter(monitor=monitor).exists()
    assert Monitor.objects.get(id=monitor.id).status == "up"


def test_monitors_have_a_limit_each(
    client: Client, monitor: Monitor, clock: Clock, limit_three: None
) -> None:
    other = MonitorFactory.create(project=monitor.project)
    clock.at(1)
    for _ in range(3):
        client.get(f"/ping/{monitor.ping_uuid}")
    assert client.get(f"/ping/{monitor.ping_uuid}").status_code == 429
    assert client.get(f"/ping/{other.ping_uuid}").status_code == 200
    assert refused_of(other) == 0


def test_a_limit_of_zero_turns_it_off(client: Client, monitor: Monitor, clock: Clock, settings: Any) -> None:
    settings.PING_RATE_LIMIT_PER_MINUTE = 0
    clock.at(1)
    assert {client.get(f"/ping/{monitor.ping_uuid}").status_code for _ in range(20)} == {200}
    assert Ping.objects.filter(monitor=monitor).count() == 20


def test_refusals_are_in_the_api_read_only_and_in_the_metrics(
    client: Client, api: APIClient, monitor: Monitor, clock: Clock, limit_three: None
) -> None:
    clock.at(1)
    for _ in range(5):
        client.get(f"/ping/{monitor.ping_uuid}")
    url = f"/api/v1/monitors/{monitor.id}/"
    assert api.get(url).json()["pings_refused"] == 2
    assert api.patch(url, {"pings_refused": 0, "name": "renamed"}, format="json").status_code == 200
    assert api.get(url).json()["pings_refused"] == 2

    metrics = client.get(f"/metrics/{monitor.project.status_key}").content.decode()
    assert f'vigil_monitor_pings_refused{{monitor="{monitor.slug}"' in metrics
    line = next(line for line in metrics.splitlines() if line.startswith("vigil_monitor_pings_refused{"))
    assert line.endswith(" 2.0")
