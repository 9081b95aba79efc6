"""Retention of pings and runs (pings.retention): a simulated month of pings through the real
ping endpoint, with beat's two passes (the frequent one every six hours here, the daily one
daily); the tables stay bounded, and the newest pings and a monitor's protected runs stay.
Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from alerts.models import Incident
from monitors.models import Monitor, Project
from pings.models import Ping, Run
from pings.retention import (
    RUNS_ALWAYS_KEPT,
    monitor_pings_prune,
    monitor_runs_prune,
    pings_and_runs_prune,
    recent_pings_prune,
)
from pings.tasks import prune_pings_and_runs, prune_recent_pings
from tests.clock import Clock
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db

HOUR = 3600
KEEP_PINGS = 50
RUN_DAYS = 7


def ping_ids(monitor: Monitor) -> list[int]:
    return list(Ping.objects.filter(monitor=monitor).order_by("id").values_list("id", flat=True))


def test_a_month_of_pings_stays_bounded_and_keeps_the_newest(
    client: Client, project: Project, clock: Clock, settings: Any
) -> None:
    settings.PING_RETENTION_COUNT = KEEP_PINGS
    settings.RUN_RETENTION_DAYS = RUN_DAYS
    hourly = MonitorFactory.create(project=project)
    two_hourly = MonitorFactory.create(project=project)
    quiet = MonitorFactory.create(project=project)
    for minute in range(3):  # three runs on day one, then silence: all of them stay
        clock.at(minute * 60)
        assert client.get(f"/ping/{quiet.ping_uuid}").status_code == 200

    largest: dict[str, int] = {"pings": 0, "runs": 0}
    for hour in range(1, 30 * 24 + 1):
        clock.at(hour * HOUR)
        assert client.get(f"/ping/{hourly.ping_uuid}").status_code == 200
        if hour % 2 == 0:
            assert (
                client.post(
                    f"/ping/{two_hourly.ping_uuid}", data=b"done", content_type="text/plain"
                ).status_code
                == 200
            )
        if hour % 6 == 0:  # beat's frequent pass (every few minutes in production)
            prune_recent_pings()
            if hour % 24 == 0:
                prune_pings_and_runs()
            for monitor in (hourly, two_hourly):
                assert Ping.objects.filter(monitor=monitor).count() <= KEEP_PINGS
            largest["pings"] = max(largest["pings"], Ping.objects.count())
            largest["runs"] = max(largest["runs"], Run.objects.count())

    # 720 + 360 + 3 pings and as many runs came in; the tables never held much more than the bounds.
    assert largest["pings"] <= 2 * KEEP_PINGS + 3
    week = RUN_DAYS * 24
    # Runs are pruned daily: at most a day over a week of the hourly monitor, a day (12 runs)
    # over its protected 100 for the two-hourly one, and the quiet one's 3.
    assert largest["runs"] <= (week + 24) + (RUNS_ALWAYS_KEPT + 12) + 3

    # The newest pings stayed (ids grow with arrival).
    hourly_pings = ping_ids(hourly)
    assert len(hourly_pings) == KEEP_PINGS
    newest = Ping.objects.filter(monitor=hourly).order_by("-received_at").first()
    assert newest is not None
    assert newest.received_at == clock.now
    assert len(ping_ids(quiet)) == 3

    # Runs: a week of the hourly monitor; the two-hourly one has only 84 in a week, so its
    # newest 100 stay, the oldest of them two weeks old; the quiet monitor keeps its 3.
    cutoff = clock.now - timedelta(days=RUN_DAYS)
    hourly_runs = Run.objects.filter(monitor=hourly)
    assert hourly_runs.filter(finished_at__lt=cutoff).count() == 0
    assert hourly_runs.count() == week + 1  # the one that finished exactly a week ago stays
    two_hourly_runs = list(Run.objects.filter(monitor=two_hourly).order_by("-finished_at"))
    assert len(two_hourly_runs) == RUNS_ALWAYS_KEPT
    assert two_hourly_runs[0].finished_at == clock.now
    assert two_hourly_runs[-1].finished_at == clock.now - timedelta(hours=2 * (RUNS_ALWAYS_KEPT - 1))
    assert two_hourly_runs[0].log == "done"
    assert Run.objects.filter(monitor=quiet).count() == 3

    # Its pings are capped like the others.
    assert Ping.objects.filter(monitor=two_hourly).count() == KEEP_PINGS


def test_pruning_goes_in_batches_and_keeps_what_refers_to_a_deleted_run(
    client: Client, project: Project, clock: Clock
) -> None:
    monitor = MonitorFactory.create(project=project)
    for hour in range(RUNS_ALWAYS_KEPT + 40):
        clock.at(hour * HOUR)
        assert client.get(f"/ping/{monitor.ping_uuid}/start").status_code == 200
        assert client.get(f"/ping/{monitor.ping_uuid}/1").status_code == 200
    oldest_run = Run.objects.filter(monitor=monitor).order_by("id").first()
    assert oldest_run is not None
    incident = Incident.objects.filter(monitor=monitor).order_by("id").first()
    assert incident is not None
    assert incident.run_id == oldest_run.id
    pings_before = ping_ids(monitor)

    # Batches of 7: several statements, each a short transaction of its own.
    assert monitor_pings_prune(monitor_id=monitor.id, keep=25, batch_size=7) == len(pings_before) - 25
    assert ping_ids(monitor) == pings_before[-25:]
    assert monitor_pings_prune(monitor_id=monitor.id, keep=25, batch_size=7) == 0

    deleted = monitor_runs_prune(monitor_id=monitor.id, before=clock.now, batch_size=7)
    assert deleted == 40
    kept = list(Run.objects.filter(monitor=monitor).order_by("id"))
    assert len(kept) == RUNS_ALWAYS_KEPT
    assert kept[-1].finished_at == clock.now
    # The incident that pointed at a deleted run stays, without the link.
    incident.refresh_from_db()
    assert incident.run_id is None


def test_an_open_run_is_never_pruned(client: Client, project: Project, clock: Clock) -> None:
    monitor = MonitorFactory.create(project=project)
    clock.at(0)
    open_rid = "6f1e3c1a-8a44-4c39-9b55-1f1f5c9b7a10"
    assert client.get(f"/ping/{monitor.ping_uuid}/start?rid={open_rid}").status_code == 200
    for hour in range(1, RUNS_ALWAYS_KEPT + 11):
        clock.at(hour * HOUR)
        rid = f"00000000-0000-4000-8000-{hour:012d}"
        assert client.get(f"/ping/{monitor.ping_uuid}/start?rid={rid}").status_code == 200
        assert client.get(f"/ping/{monitor.ping_uuid}?rid={rid}").status_code == 200

    assert monitor_runs_prune(monitor_id=monitor.id, before=clock.now) == 10
    assert Run.objects.filter(monitor=monitor, rid=open_rid, status="running").exists()


def test_the_frequent_pass_looks_only_at_monitors_pinged_lately_and_the_daily_one_at_all(
    client: Client, project: Project, clock: Clock, settings: Any
) -> None:
    settings.PING_RETENTION_COUNT = 5
    idle = MonitorFactory.create(project=project)
    busy = MonitorFactory.create(project=project)
    for second in range(8):
        clock.at(second)
        for monitor in (idle, busy):
            assert client.get(f"/ping/{monitor.ping_uuid}").status_code == 200
    clock.at(HOUR)
    assert client.get(f"/ping/{busy.ping_uuid}").status_code == 200

    assert recent_pings_prune().pings == 4
    assert (len(ping_ids(idle)), len(ping_ids(busy))) == (8, 5)
    assert pings_and_runs_prune().pings == 3
    assert (len(ping_ids(idle)), len(ping_ids(busy))) == (5, 5)
