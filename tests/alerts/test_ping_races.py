"""Pings that come too close together for any sweep: each run is judged in its own ping's transaction.

Issue 10: `/fail` then a success 10 ms later used to leave the failed run unjudged and the
failure unreported. Through the real ping endpoint and the real sweeper task, controlled time.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alerts.incidents import JOINS_LOGGED
from alerts.models import Channel, Incident, Notification
from alerts.tasks import sweep
from monitors.models import Monitor, MonitorStatus, Project
from pings.models import Run, RunStatus
from tests.clock import Clock
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db

RID_A = "6f1e3c1a-8a44-4c39-9b55-1f1f5c9b7a10"
RID_B = "0b7f1f7e-5a8e-4f4a-9c0c-2d2a3c4b5d6e"


@pytest.fixture
def channel(project: Project) -> Channel:
    return Channel.objects.create(
        project=project, kind="webhook", name="hook", config={"url": "http://h.invalid"}
    )


def hourly(project: Project, channel: Channel, **fields: Any) -> Monitor:
    fields.setdefault("interval_seconds", 3600)
    fields.setdefault("grace_seconds", 300)
    monitor = MonitorFactory.create(project=project, **fields)
    monitor.channels.set([channel])
    return monitor


def ping(client: Client, monitor: Monitor, suffix: str = "", query: str = "") -> None:
    target = f"/ping/{monitor.ping_uuid}{suffix}" + (f"?{query}" if query else "")
    assert client.post(target, data="", content_type="text/plain").status_code == 200


def outbox(monitor: Monitor) -> list[tuple[str, str | None, int]]:
    rows = Notification.objects.filter(incident__monitor=monitor).order_by("id")
    return [(row.event, (row.payload["problem"] or {}).get("kind"), row.sequence) for row in rows]


def incidents(monitor: Monitor) -> list[tuple[str, bool]]:
    rows = Incident.objects.filter(monitor=monitor).order_by("id")
    return [(incident.kind, incident.resolved_at is not None) for incident in rows]


def status(monitor: Monitor) -> str:
    monitor.refresh_from_db()
    return monitor.status


def test_fail_then_success_10_ms_later_is_notified_then_recovered(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    monitor = hourly(project, channel)
    clock.at(10)
    ping(client, monitor, "/fail")
    clock.at(10.01)
    ping(client, monitor)
    # Judged at ping time: no sweep has run, and none is needed.
    assert outbox(monitor) == [("problem", "failed", 0), ("recovered", None, 0)]
    assert incidents(monitor) == [("failed", True)]
    assert status(monitor) == MonitorStatus.UP
    monitor.refresh_from_db()
    assert monitor.next_due_at is not None
    assert (monitor.next_due_at - clock.now).total_seconds() == 3600


def test_fail_then_success_inside_one_sweep_period(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    monitor = hourly(project, channel)
    clock.at(10)
    sweep.apply().get()
    clock.at(10.2)
    ping(client, monitor, "/fail")
    clock.at(10.21)
    ping(client, monitor)
    clock.at(11)
    sweep.apply().get()
    assert outbox(monitor) == [("problem", "failed", 0), ("recovered", None, 0)]
    [failed, good] = Run.objects.filter(monitor=monitor).order_by("id")
    assert (failed.status, good.status) == (RunStatus.FAILED, RunStatus.SUCCESS)
    clock.at(12)
    sweep.apply().get()
    assert Notification.objects.count() == 2  # nothing judged twice


def test_fail_fail_success_at_failure_threshold_two(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    monitor = hourly(project, channel, failure_threshold=2)
    clock.at(10)
    ping(client, monitor, "/fail")
    clock.at(10.01)
    ping(client, monitor, "/1")
    clock.at(10.02)
    ping(client, monitor)
    sweep.apply().get()
    assert outbox(monitor) == [("problem", "failed", 0), ("recovered", None, 0)]


def test_start_fail_success_with_rids(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    monitor = hourly(project, channel)
    clock.at(10)
    ping(client, monitor, "/start", f"rid={RID_A}")
    clock.at(10.005)
    ping(client, monitor, "/fail", f"rid={RID_A}")
    clock.at(10.01)
    ping(client, monitor, "/start", f"rid={RID_B}")
    clock.at(10.02)
    ping(client, monitor, "", f"rid={RID_B}")
    assert outbox(monitor) == [("problem", "failed", 0), ("recovered", None, 0)]
    runs = {str(run.rid): run for run in Run.objects.filter(monitor=monitor)}
    assert (runs[RID_A].status, runs[RID_A].duration_ms) == (RunStatus.FAILED, 5)
    assert (runs[RID_B].status, runs[RID_B].duration_ms) == (RunStatus.SUCCESS, 10)
    monitor.refresh_from_db()
    assert (monitor.open_runs, monitor.running_since, monitor.status) == (0, None, MonitorStatus.UP)


def test_a_finish_after_its_deadline_but_before_the_sweep_is_still_missed(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    """The sweeper runs once a second; a finish in that second is judged late, not on time."""
    monitor = hourly(project, channel, interval_seconds=60, grace_seconds=30)
    clock.at(90.3)
    ping(client, monitor)
    assert outbox(monitor) == [("problem", "missed", 0), ("recovered", None, 0)]


# --- notify_every_failures -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("every", "sequences"),
    [(0, [0]), (1, [0, 1, 2, 3, 4, 5]), (3, [0, 1, 2])],
)
def test_notify_every_failures_through_pings_and_the_sweeper(
    clock: Clock, client: Client, project: Project, channel: Channel, every: int, sequences: list[int]
) -> None:
    """Five failed runs and then a missed window, in a row: 6 failures; N=3 notifies the 1st, 3rd, 6th."""
    monitor = hourly(project, channel, interval_seconds=60, grace_seconds=30, notify_every_failures=every)
    for second in (10, 11, 12, 13, 14):
        clock.at(second)
        ping(client, monitor, "/fail")
        sweep.apply().get()
    clock.at(14 + 90)
    sweep.apply().get()
    problems = [row for row in outbox(monitor) if row[0] == "problem"]
    assert [sequence for _, _, sequence in problems] == sequences
    assert {kind for _, kind, _ in problems} <= {"failed", "missed"}
    repeats = Notification.objects.filter(incident__monitor=monitor, sequence__gt=0).order_by("sequence")
    assert [row.payload["repeat"]["number"] for row in repeats] == sequences[1:]
    assert all(row.payload["event"] == "problem" for row in repeats)
    assert all(row.payload["incident"]["kinds"] for row in repeats)
    [incident] = Incident.objects.filter(monitor=monitor)
    assert incident.kinds == ["failed", "missed"]
    # A repeat is written once: sweeping again changes nothing.
    sweep.apply().get()
    assert [row for row in outbox(monitor) if row[0] == "problem"] == problems
    clock.at(200)
    ping(client, monitor)
    assert outbox(monitor)[-1][0] == "recovered"


def test_notify_every_failures_is_in_the_api(api: Any, project: Project) -> None:
    created = api.post("/api/v1/monitors/", {"name": "nightly", "notify_every_failures": 3}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["notify_every_failures"] == 3
    monitor_id = created.json()["id"]
    for bad in (-1, 1001, "three", None):
        response = api.patch(f"/api/v1/monitors/{monitor_id}/", {"notify_every_failures": bad}, format="json")
        assert response.status_code == 400, (bad, response.content)
        assert "notify_every_failures" in response.json()
    patched = api.patch(f"/api/v1/monitors/{monitor_id}/", {"notify_every_failures": 0}, format="json")
    assert patched.json()["notify_every_failures"] == 0


def test_a_long_incident_keeps_a_bounded_log_and_every_new_kind(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    monitor = hourly(project, channel)
    for n in range(JOINS_LOGGED + 20):
        clock.at(10 + n)
        ping(client, monitor, "/fail")
    clock.at(100)
    ping(client, monitor, "/start", f"rid={RID_A}")
    ping(client, monitor, "/start", f"rid={RID_B}")  # an overlap: a kind the incident has not seen
    [incident] = Incident.objects.filter(monitor=monitor)
    assert incident.kinds == ["failed", "overlap"]
    assert len(incident.log) <= JOINS_LOGGED + 2
    assert incident.log[-1]["message"] == "also: overlap: a second run started"
    clock.at(101)
    ping(client, monitor, "", f"rid={RID_A}")
    incident.refresh_from_db()
    assert incident.log[-1]["message"].startswith("resolved:")
