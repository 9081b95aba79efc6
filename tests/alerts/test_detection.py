"""Every problem kind end to end: the real ping endpoint, the real sweeper task, controlled time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from alerts.delivery.heartbeat import delivery_heartbeat_record
from alerts.models import Channel, Incident, MaintenanceWindow, Notification
from alerts.tasks import sweep
from monitors.models import Monitor, MonitorStatus, Project, SweeperHeartbeat
from monitors.services import monitor_pause, monitor_resume
from pings.models import Run, RunStatus
from tests.clock import T0, Clock
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(project: Project) -> Channel:
    return Channel.objects.create(
        project=project, kind="webhook", name="hook", config={"url": "http://h.invalid"}
    )


def make_monitor(project: Project, channel: Channel, **fields: Any) -> Monitor:
    fields.setdefault("interval_seconds", 60)
    fields.setdefault("grace_seconds", 30)
    monitor = MonitorFactory.create(project=project, **fields)
    monitor.channels.set([channel])
    return monitor


def ping(client: Client, monitor: Monitor, suffix: str = "", query: str = "", body: str = "") -> None:
    target = f"/ping/{monitor.ping_uuid}{suffix}" + (f"?{query}" if query else "")
    assert client.post(target, data=body, content_type="text/plain").status_code == 200


def run_sweeper() -> None:
    sweep.apply().get()


def state(monitor: Monitor) -> str:
    monitor.refresh_from_db()
    return monitor.status


def incidents(monitor: Monitor) -> list[Incident]:
    return list(Incident.objects.filter(monitor=monitor).order_by("id"))


def outbox(monitor: Monitor) -> list[tuple[str, str | None]]:
    rows = Notification.objects.filter(incident__monitor=monitor).order_by("id")
    return [(row.event, (row.payload["problem"] or {}).get("kind")) for row in rows]


@pytest.fixture
def monitor(project: Project, channel: Channel, clock: Clock) -> Monitor:
    return make_monitor(project, channel)


# --- missed --------------------------------------------------------------------------------


def test_a_job_that_never_reports_is_late_then_missed(clock: Clock, monitor: Monitor) -> None:
    clock.at(59)
    run_sweeper()
    assert state(monitor) == MonitorStatus.NEW
    clock.at(61)
    run_sweeper()
    assert state(monitor) == MonitorStatus.LATE
    assert not incidents(monitor)
    clock.at(91)
    run_sweeper()
    assert state(monitor) == MonitorStatus.DOWN
    [incident] = incidents(monitor)
    assert incident.kind == "missed"
    assert outbox(monitor) == [("problem", "missed")]


def test_missed_window_recovers_on_the_next_success(clock: Clock, client: Client, monitor: Monitor) -> None:
    clock.at(95)
    run_sweeper()
    clock.at(100)
    ping(client, monitor)
    run_sweeper()
    assert state(monitor) == MonitorStatus.UP
    [incident] = incidents(monitor)
    assert incident.resolved_at == clock.now
    assert outbox(monitor) == [("problem", "missed"), ("recovered", None)]


def test_a_timely_job_is_never_missed(clock: Clock, client: Client, monitor: Monitor) -> None:
    for minute in range(1, 30):
        clock.at(minute * 60 - 5)
        ping(client, monitor)
        run_sweeper()
    assert state(monitor) == MonitorStatus.UP
    assert not incidents(monitor)


def test_cron_schedule_is_missed_in_its_time_zone(clock: Clock, project: Project, channel: Channel) -> None:
    monitor = make_monitor(
        project, channel, schedule_kind="cron", cron_expression="30 14 * * *", timezone="Europe/Berlin"
    )
    # 14:30 in Berlin on 2 March is 13:30 UTC; grace 30 s.
    assert monitor.next_due_at == datetime(2026, 3, 2, 13, 30, tzinfo=UTC)
    clock.at(90 * 60 + 29)
    run_sweeper()
    assert state(monitor) == MonitorStatus.LATE
    clock.at(90 * 60 + 31)
    run_sweeper()
    [incident] = incidents(monitor)
    assert incident.detail == "missed its 14:30 run (Europe/Berlin)"


def test_cron_finish_just_before_the_slot_counts_for_it(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    monitor = make_monitor(
        project, channel, schedule_kind="cron", cron_expression="0 13 * * *", grace_seconds=600
    )
    clock.at(3600 - 300)  # 12:55, five minutes before the 13:00 slot
    ping(client, monitor)
    monitor.refresh_from_db()
    assert monitor.next_due_at == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    clock.at(3600 + 700)
    run_sweeper()
    assert not incidents(monitor)


# --- failed --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "detail"),
    [("/fail", "failed"), ("/3", "failed with exit code 3"), ("/137", "failed with exit code 137")],
)
def test_failure_opens_an_incident(
    clock: Clock, client: Client, monitor: Monitor, suffix: str, detail: str
) -> None:
    clock.at(10)
    ping(client, monitor, suffix)
    run_sweeper()
    assert state(monitor) == MonitorStatus.DOWN
    [incident] = incidents(monitor)
    assert (incident.kind, incident.detail) == ("failed", detail)
    assert incident.run == Run.objects.get(monitor=monitor)


def test_failure_threshold_counts_consecutive_bad_outcomes(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    monitor = make_monitor(project, channel, failure_threshold=2)
    clock.at(10)
    ping(client, monitor, "/fail")
    run_sweeper()
    clock.at(20)
    ping(client, monitor)
    run_sweeper()
    clock.at(30)
    ping(client, monitor, "/fail")
    run_sweeper()
    assert not incidents(monitor)
    clock.at(40)
    ping(client, monitor, "/1")
    run_sweeper()
    assert [i.kind for i in incidents(monitor)] == ["failed"]


def test_recovery_threshold_needs_good_runs_in_a_row(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    monitor = make_monitor(project, channel, recovery_threshold=2)
    clock.at(10)
    ping(client, monitor, "/fail")
    run_sweeper()
    clock.at(20)
    ping(client, monitor)
    run_sweeper()
    assert state(monitor) == MonitorStatus.DOWN
    clock.at(30)
    ping(client, monitor)
    run_sweeper()
    assert state(monitor) == MonitorStatus.UP
    assert outbox(monitor) == [("problem", "failed"), ("recovered", None)]


def test_a_new_kind_joins_the_open_incident_without_another_notification(
    clock: Clock, client: Client, monitor: Monitor
) -> None:
    clock.at(10)
    ping(client, monitor, "/fail")
    run_sweeper()
    clock.at(10 + 60 + 31)
    run_sweeper()
    [incident] = incidents(monitor)
    assert incident.kinds == ["failed", "missed"]
    assert outbox(monitor) == [("problem", "failed")]


# --- too long ------------------------------------------------------------------------------


def test_too_long_is_raised_while_running_and_closes_the_run(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    monitor = make_monitor(project, channel, interval_seconds=3600, max_duration_seconds=120)
    clock.at(10)
    ping(client, monitor, "/start")
    clock.at(129)
    run_sweeper()
    assert state(monitor) == MonitorStatus.RUNNING
    clock.at(131)
    run_sweeper()
    [incident] = incidents(monitor)
    assert incident.kind == "too_long"
    assert incident.detail == "running for 2 min 1 s, limit 2 min"
    run = Run.objects.get(monitor=monitor)
    assert (run.status, run.closed_reason) == (RunStatus.FAILED, "too_long")
    monitor.refresh_from_db()
    assert monitor.open_runs == 0


def test_a_run_without_a_maximum_is_too_long_at_due_plus_grace(
    clock: Clock, client: Client, monitor: Monitor
) -> None:
    clock.at(10)
    ping(client, monitor, "/start")
    clock.at(89)
    run_sweeper()
    assert state(monitor) == MonitorStatus.RUNNING  # an open run's window is never missed
    clock.at(91)
    run_sweeper()
    assert [i.kind for i in incidents(monitor)] == ["too_long"]


# --- overlap -------------------------------------------------------------------------------


def test_a_start_while_a_run_is_open_is_an_overlap(clock: Clock, client: Client, monitor: Monitor) -> None:
    clock.at(5)
    ping(client, monitor, "/start", "rid=6f1e3c1a-8a44-4c39-9b55-1f1f5c9b7a10")
    clock.at(6)
    ping(client, monitor, "/start", "rid=0b7f1f7e-5a8e-4f4a-9c0c-2d2a3c4b5d6e")
    run_sweeper()
    [incident] = incidents(monitor)
    assert (incident.kind, incident.detail) == ("overlap", "overlap: a second run started")


def test_allow_overlap_switches_overlap_off(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    monitor = make_monitor(project, channel, allow_overlap=True)
    clock.at(5)
    ping(client, monitor, "/start", "rid=6f1e3c1a-8a44-4c39-9b55-1f1f5c9b7a10")
    ping(client, monitor, "/start", "rid=0b7f1f7e-5a8e-4f4a-9c0c-2d2a3c4b5d6e")
    run_sweeper()
    assert not incidents(monitor)


# --- rules ---------------------------------------------------------------------------------


@pytest.fixture
def ruled(project: Project, channel: Channel, clock: Clock) -> Monitor:
    return make_monitor(project, channel, rules=[{"field": "records_processed", "op": "eq", "value": 0}])


def test_a_rule_on_metadata_raises_a_problem(clock: Clock, client: Client, ruled: Monitor) -> None:
    clock.at(10)
    ping(client, ruled, "", "meta.records_processed=0")
    run_sweeper()
    [incident] = incidents(ruled)
    assert (incident.kind, incident.detail) == ("rule", "records_processed = 0 (rule: eq 0)")


@pytest.mark.parametrize(
    "body",
    ['{"meta": {"records_processed": 5}}', '{"meta": {"other": 0}}', '{"meta": {"records_processed": "0"}}'],
)
def test_a_rule_does_not_match_other_values_missing_fields_or_other_types(
    clock: Clock, client: Client, ruled: Monitor, body: str
) -> None:
    clock.at(10)
    ping(client, ruled, body=body)
    run_sweeper()
    assert not incidents(ruled)
    assert state(ruled) == MonitorStatus.UP


def test_a_rule_on_duration(clock: Clock, client: Client, project: Project, channel: Channel) -> None:
    monitor = make_monitor(project, channel, rules=[{"field": "duration_ms", "op": "gt", "value": 5000}])
    clock.at(10)
    ping(client, monitor, "/start")
    clock.at(16)
    ping(client, monitor)
    run_sweeper()
    assert [i.kind for i in incidents(monitor)] == ["rule"]


# --- slow ----------------------------------------------------------------------------------


def test_a_run_far_slower_than_its_history_is_slow(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    monitor = make_monitor(project, channel, interval_seconds=3600)
    at = 0.0
    for duration in [2, 3, 2, 3, 2, 3, 2, 3, 2, 3]:
        clock.at(at)
        ping(client, monitor, "/start")
        clock.at(at + duration)
        ping(client, monitor)
        run_sweeper()
        at += 100
    assert not incidents(monitor)
    clock.at(at)
    ping(client, monitor, "/start")
    clock.at(at + 60)
    ping(client, monitor)
    run_sweeper()
    [incident] = incidents(monitor)
    assert incident.kind == "slow"
    assert incident.detail.startswith("slow: took 1 min")


def test_no_slow_alert_before_ten_runs_of_history(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    monitor = make_monitor(project, channel, interval_seconds=3600)
    at = 0.0
    for duration in [2, 2, 2, 2, 2, 600]:
        clock.at(at)
        ping(client, monitor, "/start")
        clock.at(at + duration)
        ping(client, monitor)
        run_sweeper()
        at += 1000
    assert not incidents(monitor)


# --- paused, resume, maintenance -----------------------------------------------------------


def test_paused_monitors_raise_nothing_and_resume_with_a_fresh_window(
    clock: Clock, client: Client, monitor: Monitor
) -> None:
    monitor_pause(monitor=monitor)
    clock.at(10)
    ping(client, monitor, "/fail")
    clock.at(500)
    run_sweeper()
    assert state(monitor) == MonitorStatus.PAUSED
    assert not incidents(monitor)
    monitor_resume(monitor=monitor)
    monitor.refresh_from_db()
    assert monitor.next_due_at == clock.now + timedelta(seconds=60)
    clock.at(500 + 89)
    run_sweeper()
    assert not incidents(monitor)
    clock.at(500 + 91)
    run_sweeper()
    assert [i.kind for i in incidents(monitor)] == ["missed"]


def test_a_pause_with_an_end_resumes_by_itself(clock: Clock, monitor: Monitor) -> None:
    monitor_pause(monitor=monitor, until=T0 + timedelta(seconds=300))
    clock.at(301)
    run_sweeper()
    assert state(monitor) == MonitorStatus.NEW
    assert monitor.next_due_at == clock.now + timedelta(seconds=60)


def test_maintenance_holds_problems_until_the_window_closes(
    clock: Clock, client: Client, monitor: Monitor, project: Project
) -> None:
    MaintenanceWindow.objects.create(project=project, starts_at=T0, ends_at=T0 + timedelta(seconds=50))
    clock.at(10)
    ping(client, monitor, "/fail")
    run_sweeper()
    assert not incidents(monitor)
    assert Run.objects.get(monitor=monitor).status == RunStatus.FAILED  # still recorded
    clock.at(51)
    run_sweeper()
    [incident] = incidents(monitor)
    assert incident.kind == "failed"


def test_a_problem_fixed_inside_maintenance_is_never_alerted(
    clock: Clock, client: Client, monitor: Monitor, project: Project
) -> None:
    MaintenanceWindow.objects.create(project=project, starts_at=T0, ends_at=T0 + timedelta(seconds=50))
    clock.at(10)
    ping(client, monitor, "/fail")
    run_sweeper()
    clock.at(20)
    ping(client, monitor)
    run_sweeper()
    clock.at(51)
    run_sweeper()
    assert not incidents(monitor)


def test_recurring_maintenance_by_cron(
    clock: Clock, client: Client, monitor: Monitor, project: Project
) -> None:
    MaintenanceWindow.objects.create(project=project, cron_expression="0 12 * * *", duration_seconds=600)
    clock.at(10)
    ping(client, monitor, "/fail")
    run_sweeper()
    assert not incidents(monitor)
    clock.at(601)
    run_sweeper()
    assert [i.kind for i in incidents(monitor)] == ["failed"]


# --- our own outage ------------------------------------------------------------------------


def test_an_outage_of_the_sweeper_extends_grace_and_says_so(
    clock: Clock, monitor: Monitor, settings: Any
) -> None:
    settings.SWEEPER_OUTAGE_SECONDS = 15
    clock.at(50)
    run_sweeper()
    # The sweeper stops for 10 minutes; the monitor's deadline (T0+90) falls inside the gap.
    clock.at(650)
    run_sweeper()
    assert not incidents(monitor)
    monitor.refresh_from_db()
    assert monitor.deadline == T0 + timedelta(seconds=90 + 600)
    clock.at(691)
    run_sweeper()
    [incident] = incidents(monitor)
    assert incident.kind == "missed"
    assert any("Vigil's sweeper was not running" in entry["message"] for entry in incident.log)


def test_healthz_reports_the_sweeper_age(clock: Clock, client: Client, db: None) -> None:
    delivery_heartbeat_record()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["reason"] == "the sweeper has never run"
    run_sweeper()
    body = client.get("/healthz").json()
    assert body == {
        "status": "ok",
        "database": "ok",
        "sweeper_age_s": 0.0,
        "delivery_age_s": 0.0,
        "outbox_oldest_s": 0.0,
        "sweeper_failing": 0,
    }
    clock.at(61)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert "61 s ago" in response.json()["reason"]
    assert SweeperHeartbeat.objects.count() == 1


def test_problem_event_payload_names_monitor_problem_and_run(
    clock: Clock, client: Client, monitor: Monitor
) -> None:
    clock.at(10)
    ping(client, monitor, "/3", body=json.dumps({"meta": {"rows": 3}, "log": "boom"}))
    run_sweeper()
    payload = Notification.objects.get().payload
    assert payload["event"] == "problem"
    assert payload["monitor"]["slug"] == monitor.slug
    assert payload["monitor"]["status"] == "down"
    assert payload["problem"] == {"kind": "failed", "detail": "failed with exit code 3"}
    assert payload["run"]["log"] == "boom"
    assert payload["run"]["meta"] == {"rows": 3}
    assert payload["incident"]["kind"] == "failed"
