"""The sweeper at scale: statements per due monitor, and monitors whose processing raises."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts.models import Channel, Incident, MaintenanceWindow, Notification
from alerts.sweeper import sweep
from monitors.models import Monitor, Project
from pings.models import Run, RunStatus
from tests.clock import T0, Clock
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db

BATCH = 50
MAX_STATEMENTS_PER_MONITOR = 4


@pytest.fixture
def channel(project: Project) -> Channel:
    return Channel.objects.create(
        project=project, kind="webhook", name="hook", config={"url": "http://h.invalid"}
    )


def monitors(project: Project, channel: Channel, count: int, **fields: Any) -> list[Monitor]:
    fields.setdefault("interval_seconds", 60)
    fields.setdefault("grace_seconds", 30)
    made = [MonitorFactory.create(project=project, **fields) for _ in range(count)]
    for monitor in made:
        monitor.channels.set([channel])
    return made


def ping(client: Client, monitor: Monitor, suffix: str = "") -> None:
    assert client.post(f"/ping/{monitor.ping_uuid}{suffix}").status_code == 200


def counted_sweep() -> tuple[int, int]:
    """(monitors processed, statements sent) by one pass."""
    with CaptureQueriesContext(connection) as queries:
        processed = sweep(batch_size=BATCH)
    return processed, len(queries.captured_queries)


# --- statements per due monitor --------------------------------------------------------------


def test_missed_windows_cost_at_most_four_statements_per_monitor(
    clock: Clock, project: Project, channel: Channel
) -> None:
    due = monitors(project, channel, BATCH)
    clock.at(61)
    processed, statements = counted_sweep()  # late
    assert processed == BATCH
    assert statements <= MAX_STATEMENTS_PER_MONITOR * BATCH / 10, statements
    clock.at(91)
    processed, statements = counted_sweep()  # missed
    assert processed == BATCH
    assert statements / BATCH <= MAX_STATEMENTS_PER_MONITOR, statements
    assert Incident.objects.filter(monitor__in=due, kind="missed").count() == BATCH
    assert Notification.objects.filter(incident__monitor__in=due).count() == BATCH


def test_runs_open_too_long_cost_at_most_four_statements_per_monitor(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    due = monitors(project, channel, BATCH, interval_seconds=3600, max_duration_seconds=30)
    clock.at(10)
    for monitor in due:
        ping(client, monitor, "/start")
    clock.at(41)
    processed, statements = counted_sweep()
    assert processed == BATCH
    assert statements / BATCH <= MAX_STATEMENTS_PER_MONITOR, statements
    assert (
        Run.objects.filter(monitor__in=due, status=RunStatus.FAILED, closed_reason="too_long").count()
        == BATCH
    )
    assert Incident.objects.filter(monitor__in=due, kind="too_long", run__isnull=False).count() == BATCH
    assert not Monitor.objects.filter(id__in=[m.id for m in due], open_runs__gt=0).exists()


def test_problems_held_for_maintenance_cost_at_most_four_statements_per_monitor(
    clock: Clock, client: Client, project: Project, channel: Channel
) -> None:
    MaintenanceWindow.objects.create(project=project, starts_at=T0, ends_at=T0 + timedelta(seconds=50))
    due = monitors(project, channel, BATCH)
    clock.at(10)
    for monitor in due:
        ping(client, monitor, "/fail")
    assert not Incident.objects.exists()
    clock.at(51)
    processed, statements = counted_sweep()
    assert processed == BATCH
    assert statements / BATCH <= MAX_STATEMENTS_PER_MONITOR, statements
    opened = Incident.objects.filter(monitor__in=due, kind="failed")
    assert opened.count() == BATCH
    assert all("held during maintenance" in [entry["message"] for entry in i.log] for i in opened)


# --- a monitor whose processing raises -------------------------------------------------------


def corrupt(monitor: Monitor) -> None:
    """A row no validation would let through (say, written by hand): its schedule cannot be read."""
    Monitor.objects.filter(id=monitor.id).update(schedule_kind="cron", cron_expression="not a cron")


def test_a_monitor_whose_processing_raises_is_backed_off_logged_once_and_visible(
    clock: Clock, client: Client, project: Project, channel: Channel, caplog: pytest.LogCaptureFixture
) -> None:
    clock.at(-1)
    broken = monitors(project, channel, 2)  # due first: they fill the first batch of two
    clock.at(0)
    healthy = monitors(project, channel, 3)
    for monitor in broken:
        corrupt(monitor)
    caplog.set_level(logging.WARNING, logger="alerts.detection")

    clock.at(91)
    assert sweep(batch_size=2) == 3
    assert Incident.objects.filter(monitor__in=healthy, kind="missed").count() == 3
    for monitor in broken:
        monitor.refresh_from_db()
        assert monitor.sweep_failures == 1
        assert monitor.deadline == clock.now + timedelta(seconds=2)
        assert monitor.sweep_error.startswith("ScheduleError")
    assert not Incident.objects.filter(monitor__in=broken).exists()

    clock.at(92)
    sweep(batch_size=2)  # not due yet
    clock.at(93)
    sweep(batch_size=2)
    clock.at(97)
    sweep(batch_size=2)
    broken[0].refresh_from_db()
    assert (broken[0].sweep_failures, broken[0].deadline) == (3, clock.now + timedelta(seconds=8))
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == len(broken), [record.getMessage() for record in errors]

    health = client.get("/healthz")
    assert health.json()["sweeper_failing"] == len(broken)
    assert "sweeper" not in health.json().get("reason", "")  # the sweeper itself still runs
    metrics = client.get(f"/metrics/{project.status_key}").content.decode()
    assert f'vigil_monitor_sweep_failures{{monitor="{broken[0].slug}"' in metrics
    assert "vigil_monitors_sweeper_failing_total 2.0" in metrics

    # Repaired: processed at its next try, counted as healthy again, and said so.
    Monitor.objects.filter(id__in=[m.id for m in broken]).update(schedule_kind="interval")
    clock.at(105)
    assert sweep(batch_size=2) == 2
    assert client.get("/healthz").json()["sweeper_failing"] == 0
    assert Incident.objects.filter(monitor__in=broken, kind="missed").count() == 2
    assert any("processed again" in record.getMessage() for record in caplog.records)


@pytest.mark.postgres
def test_a_batch_that_fails_to_write_is_retried_monitor_by_monitor(
    clock: Clock, project: Project, channel: Channel
) -> None:
    """A database error for one monitor (here a trigger refusing its incident) spares the others."""
    due = monitors(project, channel, 5)
    refused = due[2]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION refuse_incident() RETURNS trigger AS $$
            BEGIN
                IF NEW.monitor_id = MONITOR_ID THEN RAISE EXCEPTION 'refused for the test'; END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_incident BEFORE INSERT ON alerts_incident
                FOR EACH ROW EXECUTE FUNCTION refuse_incident();
            """.replace("MONITOR_ID", str(int(refused.id)))
        )
    clock.at(91)
    assert sweep(batch_size=BATCH) == 4
    assert Incident.objects.filter(monitor__in=due).count() == 4
    refused.refresh_from_db()
    assert refused.sweep_failures == 1
    assert "refused for the test" in refused.sweep_error
    assert refused.deadline == clock.now + timedelta(seconds=2)
