"""`incidents/`: list, filters, detail with deliveries, acknowledge (CONTRACT §4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.delivery.reminders import reminders_schedule
from alerts.models import Incident, Notification
from monitors.models import Monitor, Project
from tests.api.builders import make_attempt, make_channel, make_incident, make_notification
from tests.conftest import results
from tests.factories import MonitorFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def test_incident_shape_with_notifications_and_attempts(api: APIClient, monitor: Monitor) -> None:
    channel = make_channel(monitor.project)
    incident = make_incident(monitor, kind="failed", kinds=["failed", "rule"], detail="exit 3")
    notification = make_notification(incident, channel, status="retrying")
    make_attempt(notification, after_seconds=30, status_code=502, error="bad gateway", latency_ms=40)
    make_attempt(notification, after_seconds=0, status_code=None, error="timed out", latency_ms=10000)
    body = api.get(f"/api/v1/incidents/{incident.id}/").json()
    assert body == {
        "id": incident.id,
        "monitor": monitor.id,
        "kind": "failed",
        "kinds": ["failed", "rule"],
        "detail": "exit 3",
        "opened_at": body["opened_at"],
        "resolved_at": None,
        "resolved_reason": "",
        "acknowledged_at": None,
        "notifications": [
            {
                "id": notification.id,
                "channel": channel.id,
                "event": "problem",
                "status": "retrying",
                "attempts": [
                    {
                        "at": body["notifications"][0]["attempts"][0]["at"],
                        "status_code": None,
                        "error": "timed out",
                        "latency_ms": 10000,
                    },
                    {
                        "at": body["notifications"][0]["attempts"][1]["at"],
                        "status_code": 502,
                        "error": "bad gateway",
                        "latency_ms": 40,
                    },
                ],
            }
        ],
    }


def test_successful_attempt_has_null_error(api: APIClient, monitor: Monitor) -> None:
    notification = make_notification(
        make_incident(monitor), make_channel(monitor.project), status="delivered"
    )
    make_attempt(notification, status_code=200, latency_ms=12)
    [attempt] = api.get(f"/api/v1/incidents/{notification.incident_id}/").json()["notifications"][0][
        "attempts"
    ]
    assert (attempt["status_code"], attempt["error"]) == (200, None)


def test_list_newest_first_and_paginated(api: APIClient, monitor: Monitor) -> None:
    start = timezone.now() - timedelta(days=30)
    Incident.objects.bulk_create(
        [
            Incident(
                monitor=monitor,
                kind="missed",
                kinds=["missed"],
                opened_at=start + timedelta(hours=n),
                resolved_at=start + timedelta(hours=n, minutes=5),
            )
            for n in range(52)
        ]
    )
    first = api.get("/api/v1/incidents/").json()
    assert (first["count"], len(first["results"])) == (52, 50)
    opened = [item["opened_at"] for item in first["results"]]
    assert opened == sorted(opened, reverse=True)
    last = api.get("/api/v1/incidents/?page=2").json()["results"]
    assert len(last) == 2
    assert last[-1]["opened_at"] < opened[-1]


def test_filter_by_monitor_and_open(api: APIClient, project: Project, monitor: Monitor) -> None:
    other = MonitorFactory.create(project=project)
    now = timezone.now()
    open_one = make_incident(monitor, opened_at=now)
    resolved = make_incident(monitor, opened_at=now - timedelta(days=1), resolved_at=now - timedelta(hours=1))
    elsewhere = make_incident(other, opened_at=now)

    def ids(query: str) -> set[int]:
        response = api.get(f"/api/v1/incidents/{query}")
        assert response.status_code == 200, response.json()
        return {item["id"] for item in results(response)}

    assert ids("") == {open_one.id, resolved.id, elsewhere.id}
    assert ids(f"?monitor={monitor.id}") == {open_one.id, resolved.id}
    assert ids("?open=true") == {open_one.id, elsewhere.id}
    assert ids("?open=false") == {resolved.id}
    assert ids(f"?monitor={monitor.id}&open=true") == {open_one.id}


@pytest.mark.parametrize("query", ["?monitor=abc", "?monitor=0", "?open=maybe"])
def test_bad_filters_are_field_errors(api: APIClient, query: str) -> None:
    response = api.get(f"/api/v1/incidents/{query}")
    assert response.status_code == 400
    assert set(response.json()) <= {"monitor", "open"}


def test_another_projects_incidents_are_invisible(api: APIClient, monitor: Monitor) -> None:
    foreign_monitor = MonitorFactory.create(project=ProjectFactory.create())
    foreign = make_incident(foreign_monitor)
    assert results(api.get("/api/v1/incidents/")) == []
    assert results(api.get(f"/api/v1/incidents/?monitor={foreign_monitor.id}")) == []
    assert api.get(f"/api/v1/incidents/{foreign.id}/").status_code == 404
    assert api.post(f"/api/v1/incidents/{foreign.id}/acknowledge/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.acknowledged_at is None


def test_acknowledge_sets_the_time_once(api: APIClient, monitor: Monitor) -> None:
    incident = make_incident(monitor)
    first = api.post(f"/api/v1/incidents/{incident.id}/acknowledge/")
    assert first.status_code == 200
    acknowledged_at = first.json()["acknowledged_at"]
    assert acknowledged_at is not None
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        again = api.post(f"/api/v1/incidents/{incident.id}/acknowledge/")
    assert again.json()["acknowledged_at"] == acknowledged_at


def test_acknowledge_stops_reminders(api: APIClient, project: Project, monitor: Monitor) -> None:
    channel = make_channel(project, reminder_hours=1)
    unacknowledged_monitor = MonitorFactory.create(project=project)
    for each in (monitor, unacknowledged_monitor):
        each.channels.add(channel)
    three_hours_ago = timezone.now() - timedelta(hours=3)
    acknowledged = make_incident(monitor, opened_at=three_hours_ago)
    unacknowledged = make_incident(unacknowledged_monitor, opened_at=three_hours_ago)
    api.post(f"/api/v1/incidents/{acknowledged.id}/acknowledge/")
    reminders_schedule()
    assert not Notification.objects.filter(incident=acknowledged, event="reminder").exists()
    assert Notification.objects.filter(incident=unacknowledged, event="reminder").exists()


def test_read_only_key_reads_but_cannot_acknowledge(read_only_api: APIClient, monitor: Monitor) -> None:
    incident = make_incident(monitor)
    assert read_only_api.get(f"/api/v1/incidents/{incident.id}/").status_code == 200
    assert read_only_api.post(f"/api/v1/incidents/{incident.id}/acknowledge/").status_code == 403
    incident.refresh_from_db()
    assert incident.acknowledged_at is None
