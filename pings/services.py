"""Recording a ping: the hot path. One transaction, the monitor row locked, no network."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet

from monitors.models import Monitor, MonitorStatus
from monitors.rules import first_matching_rule
from monitors.schedule import due_after_finish
from monitors.services import schedule_of
from pings.body import PingBody
from pings.errors import PingError
from pings.fastpath import fetch_monitor, write_ping_in_one_statement
from pings.models import Ping, PingKind, Run, RunStatus

# The sweeper relearns a monitor's slow threshold after this many good finishes.
BASELINE_REFRESH_RUNS = 10
FINISH_KINDS = {PingKind.SUCCESS, PingKind.FAIL, PingKind.EXIT}
# Only the columns the ping path reads: the row is small and the SELECT is one round trip.
MONITOR_COLUMNS = (
    "id",
    "project_id",
    "schedule_kind",
    "interval_seconds",
    "cron_expression",
    "timezone",
    "grace_seconds",
    "max_duration_seconds",
    "allow_overlap",
    "rules",
    "paused",
    "paused_until",
    "status",
    "next_due_at",
    "deadline",
    "open_runs",
    "consecutive_bad",
    "slow_threshold_ms",
    "runs_since_baseline",
)


@dataclass(frozen=True)
class PingInput:
    kind: PingKind
    body: PingBody
    method: str
    remote_addr: str = ""
    user_agent: str = ""
    rid: uuid.UUID | None = None
    exit_code: int | None = None


def fast_record(*, lookup: Q, ping: PingInput, now: datetime) -> bool | None:
    """PostgreSQL, the common case: one plain SELECT, then one statement writing run, ping and monitor.

    The write is guarded by the monitor's revision, so a concurrent change sends us to the
    locked path instead of overwriting it. None: not handled here.
    """
    if connection.vendor != "postgresql" or ping.kind == PingKind.LOG:
        return None
    monitor = fetch_monitor(lookup, (*MONITOR_COLUMNS, "revision"))
    if monitor is None:
        return False
    if monitor.open_runs:
        return None  # closing a run, overlap and retried starts need the row lock
    if ping.kind == PingKind.START:
        run = new_start_run(monitor, ping, now)
        changes = start_changes(monitor, run, now)
    else:
        run = Run(monitor_id=monitor.id, rid=ping.rid)
        changes = finish_changes(monitor, run, ping, now)
    keep_body = ping.kind == PingKind.START
    written = write_ping_in_one_statement(
        monitor_id=monitor.id,
        revision=monitor.revision,
        changes=changes,
        run=run,
        ping_row=ping_columns(monitor.id, ping, now, keep_body=keep_body),
    )
    return True if written else None


def locked_monitor(lookup: Q) -> Monitor | None:
    """The monitor row, locked until the transaction ends (PostgreSQL; SQLite locks the file)."""
    queryset: QuerySet[Monitor] = Monitor.objects.select_for_update(of=("self",)).only(*MONITOR_COLUMNS)
    return queryset.filter(lookup).first()


def ping_record(*, lookup: Q, ping: PingInput, now: datetime) -> bool:
    """Store the ping (and its run); False when no monitor matches `lookup`."""
    recorded = fast_record(lookup=lookup, ping=ping, now=now)
    if recorded is not None:
        return recorded
    with transaction.atomic():
        monitor = locked_monitor(lookup)
        if monitor is None:
            return False
        if ping.kind == PingKind.LOG:
            _record_log(monitor, ping, now)
        elif ping.kind == PingKind.START:
            _record_start(monitor, ping, now)
        else:
            _record_finish(monitor, ping, now)
    return True


def ping_columns(monitor_id: int, ping: PingInput, now: datetime, *, keep_body: bool) -> dict[str, Any]:
    """The stored ping's columns; start and log pings keep their body, a finish's is its run's log."""
    return {
        "monitor_id": monitor_id,
        "kind": ping.kind,
        "received_at": now,
        "remote_addr": ping.remote_addr[:64],
        "user_agent": ping.user_agent[:200],
        "method": ping.method,
        "body_size": ping.body.size,
        "rid": ping.rid,
        "exit_code": ping.exit_code,
        "body": ping.body.log if keep_body else "",
        "body_truncated": ping.body.truncated if keep_body else False,
    }


def _store_ping(
    monitor: Monitor, ping: PingInput, now: datetime, run: Run | None, *, keep_body: bool
) -> None:
    Ping.objects.create(run=run, **ping_columns(monitor.id, ping, now, keep_body=keep_body))


def _open_runs(monitor: Monitor) -> QuerySet[Run]:
    return Run.objects.filter(monitor_id=monitor.id, status=RunStatus.RUNNING).order_by("started_at", "id")


def _record_log(monitor: Monitor, ping: PingInput, now: datetime) -> None:
    run = _open_runs(monitor).filter(rid=ping.rid).first() if ping.rid and monitor.open_runs else None
    _store_ping(monitor, ping, now, run, keep_body=True)


def _record_start(monitor: Monitor, ping: PingInput, now: datetime) -> None:
    if ping.rid and monitor.open_runs and _open_runs(monitor).filter(rid=ping.rid).exists():
        # A retried start (the client never saw our answer): the run is already open.
        _store_ping(monitor, ping, now, None, keep_body=True)
        return
    run = new_start_run(monitor, ping, now)
    run.save()
    _store_ping(monitor, ping, now, run, keep_body=True)
    _update_monitor(monitor, start_changes(monitor, run, now))


def new_start_run(monitor: Monitor, ping: PingInput, now: datetime) -> Run:
    overlap = bool(monitor.open_runs) and not monitor.allow_overlap and not monitor.paused
    return Run(
        monitor_id=monitor.id,
        rid=ping.rid,
        status=RunStatus.RUNNING,
        started_at=now,
        meta=ping.body.meta,
        overlap=overlap,
        evaluated=not overlap,
    )


def start_changes(monitor: Monitor, run: Run, now: datetime) -> dict[str, Any]:
    """Monitor columns after a start: running, and due for `too_long` at its maximum."""
    changes: dict[str, Any] = {"last_ping_at": now, "last_start_at": now, "open_runs": monitor.open_runs + 1}
    if not monitor.paused:
        if monitor.status != MonitorStatus.DOWN:
            changes["status"] = MonitorStatus.RUNNING
        deadline = monitor.deadline
        if monitor.max_duration_seconds is not None:
            too_long_at = now + timedelta(seconds=monitor.max_duration_seconds)
            deadline = too_long_at if deadline is None else min(deadline, too_long_at)
        changes["deadline"] = now if run.overlap else deadline
    return changes


def _record_finish(monitor: Monitor, ping: PingInput, now: datetime) -> None:
    run = _closable_run(monitor, ping) or Run(monitor_id=monitor.id, rid=ping.rid)
    changes = finish_changes(monitor, run, ping, now)
    run.save()
    _store_ping(monitor, ping, now, run, keep_body=False)
    _update_monitor(monitor, changes)


def finish_changes(monitor: Monitor, run: Run, ping: PingInput, now: datetime) -> dict[str, Any]:
    """Close `run` (open, or new and unsaved) in memory; returns the monitor's new columns."""
    succeeded = ping.kind == PingKind.SUCCESS or (ping.kind == PingKind.EXIT and ping.exit_code == 0)
    if run.started_at is not None:
        run.duration_ms = int((now - run.started_at).total_seconds() * 1000)
    run.status = RunStatus.SUCCESS if succeeded else RunStatus.FAILED
    run.finished_at = now
    run.exit_code = ping.exit_code
    run.meta = {**run.meta, **ping.body.meta}
    run.log = ping.body.log
    run.log_truncated = ping.body.truncated
    open_runs = max(0, monitor.open_runs - (1 if run.pk else 0))

    next_due = due_after_finish(
        schedule_of(monitor),
        finished_at=now,
        grace_seconds=monitor.grace_seconds,
        awaited_due=monitor.next_due_at,
    )
    changes: dict[str, Any] = {
        "last_ping_at": now,
        "last_finish_at": now,
        "last_duration_ms": run.duration_ms,
        "window_start": now,
        "next_due_at": next_due,
        "open_runs": open_runs,
    }
    if monitor.paused:
        run.evaluated = True
    elif _judged_good_here(monitor, run, succeeded, open_runs):
        run.evaluated = True
        changes.update(
            status=MonitorStatus.UP,
            deadline=next_due,
            runs_since_baseline=monitor.runs_since_baseline + 1,
        )
    else:
        # Anything beyond a plain good run is judged by the sweeper, within a second.
        run.evaluated = False
        changes["deadline"] = now
    return changes


def _closable_run(monitor: Monitor, ping: PingInput) -> Run | None:
    if not monitor.open_runs:
        return None
    runs = _open_runs(monitor)
    if ping.rid is not None:
        runs = runs.filter(rid=ping.rid)
    return runs.first()


def _judged_good_here(monitor: Monitor, run: Run, succeeded: bool, open_runs: int) -> bool:
    """A good run on a healthy monitor needs no sweeper; everything else goes to it."""
    if not succeeded or run.overlap or open_runs or monitor.status == MonitorStatus.DOWN:
        return False
    if monitor.consecutive_bad or monitor.runs_since_baseline + 1 >= BASELINE_REFRESH_RUNS:
        return False
    if first_matching_rule(monitor.rules, run.meta, run.duration_ms) is not None:
        return False
    threshold = monitor.slow_threshold_ms
    return threshold is None or run.duration_ms is None or run.duration_ms <= threshold


def _update_monitor(monitor: Monitor, changes: dict[str, Any]) -> None:
    Monitor.objects.filter(id=monitor.id).update(revision=F("revision") + 1, **changes)


def parse_rid(raw: str | None) -> uuid.UUID | None:
    if raw is None or raw == "":
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise PingError("rid must be a uuid") from None
