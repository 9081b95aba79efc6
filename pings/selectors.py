"""Reads of runs for pages: the recent runs of many monitors at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

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


@dataclass(frozen=True)
class RecentRun:
    id: int
    outcome: RunOutcome
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    exit_code: int | None


def recent_runs(*, monitor_ids: Sequence[int], per_monitor: int = RECENT_RUNS) -> dict[int, list[RecentRun]]:
    """The last `per_monitor` runs of each monitor, oldest first, in one query.

    Each monitor's cut-off id is found by walking `run_monitor_newest` backwards
    `per_monitor` entries, and the runs are then one index range per monitor: the cost
    follows the number of monitors, never the length of their history (a window function
    over all runs would read every run ever kept).
    """
    runs: dict[int, list[RecentRun]] = {monitor_id: [] for monitor_id in monitor_ids}
    if not monitor_ids or per_monitor < 1:
        return runs
    quote = connection.ops.quote_name
    run_table, monitor_table = quote(Run._meta.db_table), quote(Monitor._meta.db_table)
    placeholders = ", ".join(["%s"] * len(monitor_ids))
    sql = f"""
        WITH cut AS (
            SELECT m.id AS monitor_id,
                   COALESCE((SELECT older.id FROM {run_table} older
                             WHERE older.monitor_id = m.id
                             ORDER BY older.id DESC LIMIT 1 OFFSET %s), 0) AS first_id
            FROM {monitor_table} m
            WHERE m.id IN ({placeholders})
        )
        SELECT r.id, r.monitor_id, r.status, r.overlap, r.closed_reason,
               r.started_at, r.finished_at, r.duration_ms, r.exit_code
        FROM cut JOIN {run_table} r ON r.monitor_id = cut.monitor_id AND r.id >= cut.first_id
        ORDER BY r.monitor_id, r.id
    """  # table names come from the models; every value is a parameter
    for run in Run.objects.raw(sql, [per_monitor - 1, *monitor_ids]):
        runs[run.monitor_id].append(
            RecentRun(
                id=run.id,
                outcome=run_outcome(status=run.status, overlap=run.overlap, closed_reason=run.closed_reason),
                started_at=run.started_at,
                finished_at=run.finished_at,
                duration_ms=run.duration_ms,
                exit_code=run.exit_code,
            )
        )
    return runs
