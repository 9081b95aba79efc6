"""Reads of runs: the recent runs of many monitors at once (pages' strips), a project's runs
feed, and one monitor's figures.

Runs have no project column: the feed and the figures go through the project's monitors. The
index `run_monitor_status_finished` (monitor, status, finished_at, id) serves them, with
`run_open` (monitor, started_at of running runs) for runs still going.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, Func, IntegerField, Q, QuerySet
from django.db.models.sql.compiler import SQLCompiler

from monitors.models import Monitor, Project
from monitors.selectors import with_tag
from pings.models import Ping, PingKind, Run, RunStatus

RECENT_RUNS = 30


class RunOutcome(StrEnum):
    """How one run reads at a glance; the worst thing about it wins."""

    SUCCESS = "success"
    FAILED = "failed"
    OVERLAP = "overlap"
    TOO_LONG = "too_long"
    RUNNING = "running"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


def run_outcome(*, status: str, overlap: bool, closed_reason: str) -> RunOutcome:
    if closed_reason == "too_long":
        return RunOutcome.TOO_LONG
    if overlap:
        return RunOutcome.OVERLAP
    if status == RunStatus.FAILED:
        return RunOutcome.FAILED
    if status == RunStatus.RUNNING:
        return RunOutcome.RUNNING
    return RunOutcome.SUCCESS


# Each run as its three facts joined ("failed:0:too_long"), runs joined by commas, oldest
# first: a thousand short strings cross the wire and the driver instead of thirty thousand rows.
# Only the facts are read here; run_outcome judges them. Table names come from the models;
# every value is a parameter.
_RECENT_OUTCOMES_AGGREGATED = """
    SELECT m.id, (
        SELECT string_agg(concat_ws(':', r.status, CAST(r.overlap AS integer), r.closed_reason), ','
                          ORDER BY r.id)
        FROM (
            SELECT id, status, overlap, closed_reason FROM {runs} newest
            WHERE newest.monitor_id = m.id ORDER BY newest.id DESC LIMIT %s
        ) r
    )
    FROM {monitors} m
    WHERE m.id IN ({ids})
"""
_RECENT_OUTCOMES_NESTED = """
    WITH cut AS MATERIALIZED (
        SELECT m.id AS monitor_id,
               COALESCE((SELECT older.id FROM {runs} older WHERE older.monitor_id = m.id
                         ORDER BY older.id DESC LIMIT 1 OFFSET %s), 0) AS first_id
        FROM {monitors} m
        WHERE m.id IN ({ids})
    )
    SELECT r.monitor_id, r.status, r.overlap, r.closed_reason
    FROM cut JOIN {runs} r ON r.monitor_id = cut.monitor_id AND r.id >= cut.first_id
    ORDER BY r.monitor_id, r.id
"""
# Every combination of facts seen so far and its outcome (a handful of entries).
_OUTCOME_OF: dict[str, RunOutcome] = {}


def _outcome_of(facts: str) -> RunOutcome:
    outcome = _OUTCOME_OF.get(facts)
    if outcome is None:
        status, overlap, reason = facts.split(":", 2)
        outcome = run_outcome(status=status, overlap=overlap == "1", closed_reason=reason)
        _OUTCOME_OF[facts] = outcome
    return outcome


def recent_outcomes(
    *, monitor_ids: Sequence[int], per_monitor: int = RECENT_RUNS
) -> dict[int, list[RunOutcome]]:
    """The outcomes of the last `per_monitor` runs of each monitor, oldest first, in one query.

    Each monitor's runs are one walk down `run_monitor_newest` (monitor_id, id), so the cost
    follows the number of monitors and never the length of their history (a window function
    over all runs, or a planner left free to hash-join, would read every run ever kept).
    PostgreSQL aggregates each monitor's runs into one string in a correlated subquery;
    SQLite, whose group_concat keeps no order, finds each monitor's cut-off id first (a
    materialised CTE), then reads the range row by row.
    """
    outcomes: dict[int, list[RunOutcome]] = {monitor_id: [] for monitor_id in monitor_ids}
    if not monitor_ids or per_monitor < 1:
        return outcomes
    tables = {
        "runs": connection.ops.quote_name(Run._meta.db_table),
        "monitors": connection.ops.quote_name(Monitor._meta.db_table),
        "ids": ", ".join(["%s"] * len(monitor_ids)),
    }
    # A plain cursor: building a model per run would cost more than the query.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_RECENT_OUTCOMES_AGGREGATED.format(**tables), [per_monitor, *monitor_ids])
            for monitor_id, joined in cursor.fetchall():
                if joined:
                    outcomes[monitor_id] = [_outcome_of(facts) for facts in joined.split(",")]
            return outcomes
        cursor.execute(_RECENT_OUTCOMES_NESTED.format(**tables), [per_monitor - 1, *monitor_ids])
        for monitor_id, status, overlap, reason in cursor.fetchall():
            outcomes[monitor_id].append(_outcome_of(f"{status}:{int(overlap)}:{reason}"))
    return outcomes


FINISHED = [RunStatus.SUCCESS, RunStatus.FAILED]
STATS_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
# Duration percentiles: successful runs with a duration that finished in the last 30 days,
# the newest DURATION_SAMPLE of them at most.
DURATION_WINDOW = timedelta(days=30)
DURATION_SAMPLE = 1000


def runs_for_project(
    *,
    project: Project,
    status: str | None = None,
    since: datetime | None = None,
    monitor_id: int | None = None,
    tag: str | None = None,
) -> QuerySet[Run]:
    """The project's runs, newest first (in the order they were opened, as a monitor's runs list).

    `since` keeps the runs heard of at or after it: finished then, or still running and
    started then. Another project's monitor id matches nothing, as in every project-scoped list.
    """
    monitors = Monitor.objects.filter(project=project)
    if monitor_id is not None:
        monitors = monitors.filter(id=monitor_id)
    if tag:
        monitors = with_tag(monitors, tag)
    # The ids first: a project has few monitors next to its runs, and the tag test is raw SQL
    # on SQLite that cannot run inside a relabelled subquery.
    monitor_ids = list(monitors.values_list("id", flat=True))
    runs = Run.objects.filter(monitor_id__in=monitor_ids)
    if status:
        runs = runs.filter(status=status)
    if since is not None:
        runs = runs.filter(_heard_since(since, status))
    return runs.select_related("monitor").order_by("-id")


def _heard_since(since: datetime, status: str | None) -> Q:
    """Written per status so that each part is a range of one index."""
    running = Q(status=RunStatus.RUNNING, started_at__gte=since)
    finished = Q(status__in=FINISHED, finished_at__gte=since)
    if status == RunStatus.RUNNING:
        return running
    if status:
        return finished
    return running | finished


@dataclass(frozen=True)
class RunStats:
    success_rate: dict[str, float | None]
    duration_ms: dict[str, int | None]
    failures_24h: int
    last_failure: Run | None


def monitor_run_stats(*, monitor: Monitor, now: datetime) -> RunStats:
    """Success rates, duration percentiles, recent failures and the last failure: three queries.

    A success rate is successful / finished runs among those that finished in the window
    (None without any). Percentiles are nearest-rank over the newest DURATION_SAMPLE
    successful runs with a duration that finished in the last DURATION_WINDOW.
    """
    finished = Run.objects.filter(monitor=monitor, status__in=FINISHED, finished_at__lte=now)
    oldest = now - max(STATS_WINDOWS.values())
    windows = {name: Q(finished_at__gte=now - length) for name, length in STATS_WINDOWS.items()}
    counts = finished.filter(finished_at__gte=oldest).aggregate(
        **{f"all_{name}": Count("id", filter=window) for name, window in windows.items()},
        **{
            f"ok_{name}": Count("id", filter=window & Q(status=RunStatus.SUCCESS))
            for name, window in windows.items()
        },
    )
    success_rate = {
        name: round(counts[f"ok_{name}"] / counts[f"all_{name}"], 4) if counts[f"all_{name}"] else None
        for name in STATS_WINDOWS
    }
    recent_durations = (
        finished.filter(status=RunStatus.SUCCESS, finished_at__gte=now - DURATION_WINDOW)
        .exclude(duration_ms=None)
        .order_by("-finished_at", "-id")
        .values_list("duration_ms", flat=True)[:DURATION_SAMPLE]
    )
    durations = sorted(d for d in recent_durations if d is not None)
    last_failure = finished.filter(status=RunStatus.FAILED).order_by("-finished_at", "-id").first()
    return RunStats(
        success_rate=success_rate,
        duration_ms={"p50": nearest_rank(durations, 50), "p95": nearest_rank(durations, 95)},
        failures_24h=counts["all_24h"] - counts["ok_24h"],
        last_failure=last_failure,
    )


def nearest_rank(ordered: list[int], percent: int) -> int | None:
    """The smallest value with at least `percent` % of the values at or below it: one that
    really occurred, never an interpolation."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


# A monitor's page: a page of its history, its chart's points, one run.
HISTORY_PAGE = 25
CHART_RUNS = 200


class LogBytes(Func):
    """The stored log's size in bytes. PostgreSQL's octet_length reads it from the value's
    header, without fetching or decompressing a log that lives out of line."""

    function = "OCTET_LENGTH"
    output_field = IntegerField()

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="LENGTH(CAST(%(expressions)s AS BLOB))", **extra)


def without_logs(runs: QuerySet[Run]) -> QuerySet[Run]:
    """Runs as a list shows them: no log (up to PING_BODY_LIMIT each), only its size (`log_bytes`)."""
    return runs.defer("log").annotate(log_bytes=LogBytes("log"))


@dataclass(frozen=True)
class RunPage:
    runs: list[Run]  # newest first, without their logs (each has `log_bytes`)
    older: int | None  # the `before` of the next page; None on the last one


def run_history(
    *, monitor: Monitor, before: int | None = None, status: str | None = None, limit: int = HISTORY_PAGE
) -> RunPage:
    """One page of a monitor's runs, newest first, by keyset: the runs below id `before`.

    A walk down `run_monitor_newest` that stops after `limit` + 1 rows, however long the history.
    """
    runs = without_logs(Run.objects.filter(monitor=monitor))
    if before is not None:
        runs = runs.filter(id__lt=before)
    if status:
        runs = runs.filter(status=status)
    page = list(runs.order_by("-id")[: limit + 1])
    return RunPage(runs=page[:limit], older=page[limit - 1].id if len(page) > limit else None)


def run_of_monitor(*, monitor: Monitor, run_id: int) -> Run | None:
    return Run.objects.filter(monitor=monitor, id=run_id).first()


class DurationPoint(NamedTuple):
    """A finished run as the duration chart plots it."""

    id: int
    outcome: RunOutcome
    finished_at: datetime
    duration_ms: int
    exit_code: int | None


def duration_points(*, monitor: Monitor, limit: int = CHART_RUNS) -> list[DurationPoint]:
    """The monitor's last `limit` finished runs with a duration, oldest first (no models built)."""
    rows = (
        Run.objects.filter(monitor=monitor, duration_ms__isnull=False, finished_at__isnull=False)
        .order_by("-id")
        .values_list("id", "status", "overlap", "closed_reason", "finished_at", "duration_ms", "exit_code")[
            :limit
        ]
    )
    return [
        DurationPoint(
            id=run_id,
            outcome=run_outcome(status=status, overlap=overlap, closed_reason=reason),
            finished_at=finished_at,
            duration_ms=duration,
            exit_code=exit_code,
        )
        for run_id, status, overlap, reason, finished_at, duration, exit_code in reversed(rows)
        if finished_at is not None and duration is not None  # as filtered: for the type checker
    ]


IGNORED_PINGS_SHOWN = 5


def ignored_pings(*, monitor: Monitor, limit: int = IGNORED_PINGS_SHOWN) -> list[Ping]:
    """The monitor's latest ignored pings, newest first (index `ping_ignored`)."""
    pings = Ping.objects.filter(monitor=monitor, kind=PingKind.IGNORED).order_by("-id")
    return list(pings.only("id", "received_at", "method", "note", "remote_addr")[:limit])
