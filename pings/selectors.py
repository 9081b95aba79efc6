"""Reads of runs for pages: the recent runs of many monitors at once."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

from django.db import connection

from monitors.models import Monitor
from pings.models import Run, RunStatus

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


class RecentRun(NamedTuple):
    """A run as a strip shows it (a tuple: a dashboard builds tens of thousands)."""

    id: int
    outcome: RunOutcome
    at: str | None  # when it started, else finished: "YYYY-MM-DD HH:MM", UTC
    duration_ms: int | None
    exit_code: int | None


# What a strip shows of a run (never its log). Its time comes as text, to the minute in UTC,
# because converting tens of thousands of timestamps row by row costs more than the query.
# Table names come from the models; every value is a parameter.
_RECENT_RUNS_LATERAL = """
    SELECT r.id, r.monitor_id, r.status, r.overlap, r.closed_reason,
           to_char(COALESCE(r.started_at, r.finished_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
           r.duration_ms, r.exit_code
    FROM {monitors} m
    CROSS JOIN LATERAL (
        SELECT id, monitor_id, status, overlap, closed_reason, started_at, finished_at, duration_ms, exit_code
        FROM {runs} newest
        WHERE newest.monitor_id = m.id ORDER BY newest.id DESC LIMIT %s
    ) r
    WHERE m.id IN ({ids})
    ORDER BY r.monitor_id, r.id
"""
_RECENT_RUNS_NESTED = """
    WITH cut AS MATERIALIZED (
        SELECT m.id AS monitor_id,
               COALESCE((SELECT older.id FROM {runs} older WHERE older.monitor_id = m.id
                         ORDER BY older.id DESC LIMIT 1 OFFSET %s), 0) AS first_id
        FROM {monitors} m
        WHERE m.id IN ({ids})
    )
    SELECT r.id, r.monitor_id, r.status, r.overlap, r.closed_reason,
           strftime('%%Y-%%m-%%d %%H:%%M', COALESCE(r.started_at, r.finished_at)), r.duration_ms, r.exit_code
    FROM cut JOIN {runs} r ON r.monitor_id = cut.monitor_id AND r.id >= cut.first_id
    ORDER BY r.monitor_id, r.id
"""


def recent_runs(*, monitor_ids: Sequence[int], per_monitor: int = RECENT_RUNS) -> dict[int, list[RecentRun]]:
    """The last `per_monitor` runs of each monitor, oldest first, in one query.

    Each monitor's runs are one walk down `run_monitor_newest` (monitor_id, id), so the cost
    follows the number of monitors and never the length of their history (a window function
    over all runs, or a planner left free to hash-join, would read every run ever kept).
    PostgreSQL says so with LATERAL; SQLite, which has no LATERAL, always nests its loops:
    it finds each monitor's cut-off id first (a materialised CTE), then reads the range.
    """
    runs: dict[int, list[RecentRun]] = {monitor_id: [] for monitor_id in monitor_ids}
    if not monitor_ids or per_monitor < 1:
        return runs
    tables = {
        "runs": connection.ops.quote_name(Run._meta.db_table),
        "monitors": connection.ops.quote_name(Monitor._meta.db_table),
        "ids": ", ".join(["%s"] * len(monitor_ids)),
    }
    if connection.vendor == "postgresql":
        sql, params = _RECENT_RUNS_LATERAL, [per_monitor, *monitor_ids]
    else:
        sql, params = _RECENT_RUNS_NESTED, [per_monitor - 1, *monitor_ids]
    # A plain cursor: tens of thousands of model instances would cost more than the query.
    with connection.cursor() as cursor:
        cursor.execute(sql.format(**tables), params)
        rows = cursor.fetchall()
    for run_id, monitor_id, status, overlap, reason, at, duration, exit_code in rows:
        runs[monitor_id].append(
            RecentRun(
                id=run_id,
                outcome=run_outcome(status=status, overlap=bool(overlap), closed_reason=reason),
                at=at,
                duration_ms=duration,
                exit_code=exit_code,
            )
        )
    return runs
