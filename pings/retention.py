"""Retention of pings and runs: per monitor, the newest `PING_RETENTION_COUNT` pings are
kept, and the runs that finished within `RUN_RETENTION_DAYS`, with the newest
`RUNS_ALWAYS_KEPT` of a monitor kept whatever their age (a monitor that runs once a quarter
still shows its history). Open runs are never deleted.

Two beat tasks (pings.tasks): every few minutes the ping cap for the monitors pinged
lately (only they can have gone over it: `last_ping_at`), and once a day both rules for
every monitor (runs age by the day; and log pings, which leave `last_ping_at` alone).

Deletes go by primary key, at most `BATCH_SIZE` rows a statement, each statement its own
transaction: a pass never holds many locks, nor any lock for long, and the ping path (an
INSERT of new rows) never waits on it. A monitor with nothing to delete costs an index
probe per rule (`ping_monitor_newest` and `run_monitor_newest` read newest first). Why
batched deletes and not time partitions: README, "Retention".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from monitors.models import Monitor
from pings.models import Ping, Run, RunStatus

BATCH_SIZE = 1000
RUNS_ALWAYS_KEPT = 100
# Monitors read per query while walking them in id order.
MONITOR_PAGE = 500
# The frequent pass looks at monitors pinged this long ago or later: several of its periods,
# so a pass that was skipped or cut short is made up by the next.
RECENTLY_PINGED = timedelta(minutes=15)
# The frequent pass stops after this long (on a first deployment, with years of backlog);
# the next one goes on, and a monitor already pruned costs it one probe.
TIME_BUDGET_SECONDS = 120.0


@dataclass
class Pruned:
    pings: int = 0
    runs: int = 0
    monitors: int = 0
    complete: bool = True


def recent_pings_prune(
    *, now: datetime | None = None, batch_size: int = BATCH_SIZE, time_budget: float = TIME_BUDGET_SECONDS
) -> Pruned:
    """The ping cap, for the monitors pinged within RECENTLY_PINGED."""
    since = (now or timezone.now()) - RECENTLY_PINGED
    return _prune(
        Monitor.objects.filter(last_ping_at__gte=since),
        runs_before=None,
        batch_size=batch_size,
        time_budget=time_budget,
    )


def pings_and_runs_prune(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> Pruned:
    """Both rules, for every monitor, to the end."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.RUN_RETENTION_DAYS)
    return _prune(Monitor.objects.all(), runs_before=cutoff, batch_size=batch_size, time_budget=None)


def _prune(
    monitors: QuerySet[Monitor], *, runs_before: datetime | None, batch_size: int, time_budget: float | None
) -> Pruned:
    keep = settings.PING_RETENTION_COUNT
    stop_at = None if time_budget is None else time.monotonic() + time_budget
    pruned = Pruned()
    after = 0
    while True:
        page = list(monitors.filter(id__gt=after).order_by("id").values_list("id", flat=True)[:MONITOR_PAGE])
        for monitor_id in page:
            if stop_at is not None and time.monotonic() > stop_at:
                pruned.complete = False
                return pruned
            pruned.pings += monitor_pings_prune(monitor_id=monitor_id, keep=keep, batch_size=batch_size)
            if runs_before is not None:
                pruned.runs += monitor_runs_prune(
                    monitor_id=monitor_id, before=runs_before, batch_size=batch_size
                )
            pruned.monitors += 1
        if len(page) < MONITOR_PAGE:
            return pruned
        after = page[-1]


def monitor_pings_prune(*, monitor_id: int, keep: int, batch_size: int = BATCH_SIZE) -> int:
    """Delete all but the newest `keep` pings of one monitor; how many went."""
    newest_dropped = _nth_newest_id(Ping.objects.filter(monitor_id=monitor_id), keep)
    if newest_dropped is None:
        return 0
    deleted = 0
    while True:
        ids = list(
            Ping.objects.filter(monitor_id=monitor_id, id__lte=newest_dropped)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        # Nothing refers to a ping: one DELETE by primary key, no cascade to collect.
        deleted += Ping.objects.filter(id__in=ids).delete()[0]


def monitor_runs_prune(
    *, monitor_id: int, before: datetime, batch_size: int = BATCH_SIZE, always_kept: int = RUNS_ALWAYS_KEPT
) -> int:
    """Delete one monitor's finished runs that finished before `before`, except its newest
    `always_kept`; how many went (their pings and incidents keep existing, without the link)."""
    oldest_kept = _nth_newest_id(Run.objects.filter(monitor_id=monitor_id), always_kept - 1)
    if oldest_kept is None:
        return 0
    deleted = 0
    while True:
        ids = list(
            Run.objects.filter(
                monitor_id=monitor_id,
                id__lt=oldest_kept,
                status__in=(RunStatus.SUCCESS, RunStatus.FAILED),
                finished_at__lt=before,
            )
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            # The collector clears pings.run_id and incidents.run_id of these runs first.
            deleted += Run.objects.filter(id__in=ids).delete()[1].get(Run._meta.label, 0)


def _nth_newest_id(rows: QuerySet[Any], n: int) -> int | None:
    """The id of the (n+1)-th newest row (0: the newest), read from the (monitor, -id) index."""
    found = list(rows.order_by("-id").values_list("id", flat=True)[n : n + 1])
    return int(found[0]) if found else None
