"""Recording a ping: the hot path. Stored and judged in one transaction, no network.

Every start and finish goes through monitors.state, which judges it then and there (failed,
rule, slow, overlap, recovery) and first judges whatever time-based problem fell due before
it, so neither the order nor the speed of pings can hide a failure, and no ping waits on the
sweeper. On PostgreSQL the common case (nothing due, no incident to touch) is one
revision-guarded statement (pings.fastpath) judged against this process's copy of the monitor
(pings.monitor_cache), with one SELECT first when there is no copy or it turned out stale;
when other pings keep winning that race, the row is locked and the same single statement
written; anything else (incidents and their outbox rows, maintenance windows, our outages,
SQLite) takes the row lock and writes runs, ping, incidents and the monitor together.
"""

from __future__ import annotations

import enum
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from alerts.incidents import IncidentWork, incidents_write
from alerts.maintenance import project_windows
from alerts.outages import outages_known
from monitors.maintenance import Window
from monitors.models import Monitor
from monitors.state import (
    NO_OPEN_RUNS,
    PING_RUN,
    Context,
    ContextNeeded,
    Event,
    Finish,
    MonitorState,
    OpenRun,
    OpenRuns,
    Outage,
    RunFinished,
    RunRef,
    RunStarted,
    RunTimedOut,
    Start,
    Transition,
    apply,
)
from monitors.state_rows import changed_columns, state_of
from pings import monitor_cache
from pings.body import PingBody
from pings.counting import ping_counted
from pings.errors import PingError
from pings.fastpath import (
    CLOSING_COLUMNS,
    MonitorLookup,
    OpenRunRow,
    WriteOutcome,
    by_id,
    by_slug,
    by_uuid,
    fetch_monitor,
    lock_monitor,
    write_ping_in_one_statement,
)
from pings.models import Ping, PingKind, Run, RunStatus
from pings.rate_limit import counted_columns, is_spent, rate_window
from pings.signals import REQUESTED_RID_VERSION, run_reported

# Open runs a finish reads (oldest first): enough for any catch-up, and an index range scan.
OPEN_RUNS_READ = 100
# Unlocked reads and guarded writes a ping tries before it takes the row lock instead.
ONE_STATEMENT_ATTEMPTS = 3
# Per-process turns for pings to one monitor (by lookup, striped: a few unrelated monitors may
# share a stripe, which costs them nothing but order).
_STRIPES = [threading.Lock() for _ in range(64)]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PingInput:
    kind: PingKind
    body: PingBody
    method: str
    remote_addr: str = ""
    user_agent: str = ""
    rid: uuid.UUID | None = None
    exit_code: int | None = None
    # Set by `_counted`: why the ping is ignored, or which keyword changed its kind.
    note: str = ""


class Recorded(enum.Enum):
    """What became of a ping: the view's answer (200, 404, 429)."""

    STORED = "stored"
    NO_MONITOR = "no monitor"
    # The monitor's rate limit for this minute is spent: not stored, counted in pings_refused.
    REFUSED = "refused"


def ping_record_by_uuid(*, ping_uuid: uuid.UUID, ping: PingInput, now: datetime) -> Recorded:
    """Store and judge a ping to `/ping/<uuid>`."""
    return _record(by_uuid(ping_uuid), ping, now)


def ping_record_by_slug(*, ping_key: str, slug: str, ping: PingInput, now: datetime) -> Recorded:
    """Store and judge a ping to `/ping/<ping key>/<slug>`."""
    return _record(by_slug(ping_key, slug), ping, now)


def ping_record_by_id(*, monitor_id: int, ping: PingInput, now: datetime) -> Recorded:
    return _record(by_id(monitor_id), ping, now)


def _record(lookup: MonitorLookup, ping: PingInput, now: datetime) -> Recorded:
    recorded = _record_ping(lookup, ping, now)
    if (
        recorded is Recorded.STORED
        and ping.kind != PingKind.LOG
        and ping.rid is not None
        and ping.rid.version == REQUESTED_RID_VERSION
    ):
        # After the commit: the Run now request with this rid (triggers) marks its run manual.
        run_reported.send(sender=Ping, rid=ping.rid, started=ping.kind == PingKind.START, at=now)
    return recorded


def _record_ping(lookup: MonitorLookup, ping: PingInput, now: datetime) -> Recorded:
    if connection.vendor != "postgresql" or ping.kind == PingKind.LOG:
        return _record_locked(lookup, ping, now, Attempt.LOCKED_PATH)
    # Threads of this process pinging one monitor take turns here rather than in PostgreSQL:
    # each guarded write then races only the other processes', and mostly wins.
    with _STRIPES[hash(lookup.params) % len(_STRIPES)]:
        attempt = Attempt.CONTENDED
        # A copy kept from an earlier ping costs no read; when it is stale the write misses
        # and the row is read again (one more attempt than a cold start gets).
        entry = monitor_cache.known(lookup.params)
        for _ in range(ONE_STATEMENT_ATTEMPTS + (entry is not None)):
            attempt = _record_in_one_statement(lookup, ping, now, entry)
            entry = None
            if attempt is not Attempt.CONTENDED:
                break
        if attempt is Attempt.WRITTEN:
            return Recorded.STORED
        if attempt is Attempt.REFUSED:
            return Recorded.REFUSED
        if attempt is Attempt.NO_MONITOR:
            return Recorded.NO_MONITOR
        return _record_locked(lookup, ping, now, attempt)


def _record_locked(lookup: MonitorLookup, ping: PingInput, now: datetime, attempt: Attempt) -> Recorded:
    """The row locked for the whole transaction: SQLite, log pings, and what the one-statement
    path left (contention it kept losing, incidents to write, context to read)."""
    monitor_cache.forget(lookup.params)
    window = rate_window(now)
    with transaction.atomic():
        if attempt is Attempt.CONTENDED:
            # Other processes keep winning: take the lock, and still write in one statement.
            lock_monitor(lookup)
            attempt = _record_in_one_statement(lookup, ping, now, None)
            monitor_cache.forget(lookup.params)
            if attempt in _SETTLED:
                return _SETTLED[attempt]
        monitor = (
            Monitor.objects.select_for_update(of=("self",))
            .select_related("project")
            .filter(**lookup.filters)
            .first()
        )
        if monitor is None:
            return Recorded.NO_MONITOR
        if is_spent(window, counted_window=monitor.rate_window, counted=monitor.rate_count):
            Monitor.objects.filter(id=monitor.id).update(pings_refused=F("pings_refused") + 1)
            return Recorded.REFUSED
        rate_columns = counted_columns(window, counted_window=monitor.rate_window, counted=monitor.rate_count)
        ping = _counted(monitor, ping)
        if ping.kind == PingKind.IGNORED:
            _store_ping(monitor.id, ping, now, None, keep_body=True)
            if rate_columns:
                Monitor.objects.filter(id=monitor.id).update(**rate_columns)
        elif ping.kind == PingKind.LOG:
            _record_log(monitor, ping, now, rate_columns)
        else:
            _judge_locked(monitor, ping, now, rate_columns)
    return Recorded.STORED


# --- the one-statement path ------------------------------------------------------------------


class Attempt(enum.Enum):
    WRITTEN = "written"
    NO_MONITOR = "no monitor"
    REFUSED = "refused"
    # A concurrent change moved the revision: nothing was written; read again.
    CONTENDED = "contended"
    # Incidents to write or context to read: the locked path's business.
    LOCKED_PATH = "locked path"


_SETTLED = {
    Attempt.WRITTEN: Recorded.STORED,
    Attempt.NO_MONITOR: Recorded.NO_MONITOR,
    Attempt.REFUSED: Recorded.REFUSED,
}


def _record_in_one_statement(
    lookup: MonitorLookup, ping: PingInput, now: datetime, entry: monitor_cache.KnownMonitor | None
) -> Attempt:
    """PostgreSQL, the common case: run, ping, monitor and the rate count in one statement
    guarded by the monitor's revision, judged against `entry` (this process's copy of the
    monitor and its oldest open runs) or, without one, against a fresh read (one SELECT).
    """
    if entry is None:
        read = fetch_monitor(lookup, monitor_cache.CACHED_COLUMNS, open_runs_limit=OPEN_RUNS_READ + 1)
        if read is None:
            return Attempt.NO_MONITOR
        entry = monitor_cache.KnownMonitor(monitor=read[0], open_rows=tuple(read[1]))
    monitor = entry.monitor
    ping = _counted(monitor, ping)
    if ping.kind == PingKind.IGNORED:
        # Stored under the same guard (so never for a monitor deleted meanwhile); no state changes.
        return _write(lookup, entry, ping, now, changes={}, run=None, keep_body=True)
    open_runs = _open_runs_read(entry.open_rows, ping.rid) if monitor.open_runs else NO_OPEN_RUNS
    if open_runs is None:
        return Attempt.LOCKED_PATH
    before = state_of(monitor)
    try:
        transition = apply(before, _event(ping, now, open_runs), Context())
    except Exception:
        # Something fell due, a problem to weigh against maintenance windows, or a monitor that
        # cannot be judged: the locked path reads what is needed, records it whatever happens.
        return Attempt.LOCKED_PATH
    if transition.touches_incidents or any(isinstance(e, RunTimedOut) for e in transition.effects):
        return Attempt.LOCKED_PATH
    changes = changed_columns(before, transition.state)
    run = _ping_run(monitor.id, ping, transition, open_runs)
    return _write(lookup, entry, ping, now, changes=changes, run=run, keep_body=ping.kind == PingKind.START)


def _write(
    lookup: MonitorLookup,
    entry: monitor_cache.KnownMonitor,
    ping: PingInput,
    now: datetime,
    *,
    changes: dict[str, Any],
    run: Run | None,
    keep_body: bool,
) -> Attempt:
    """The guarded statement; on success this process's copy of the monitor moves with it."""
    monitor = entry.monitor
    written = write_ping_in_one_statement(
        lookup=lookup,
        monitor_id=monitor.id,
        revision=monitor.revision,
        changes=changes,
        run=run,
        ping_row=ping_columns(monitor.id, ping, now, keep_body=keep_body),
        rate=rate_window(now),
    )
    if written.outcome is WriteOutcome.REFUSED:
        return Attempt.REFUSED
    if written.outcome is WriteOutcome.CONTENDED:
        monitor_cache.forget(lookup.params)
        return Attempt.CONTENDED
    opened = None
    if run is not None and run.pk is None and run.status == RunStatus.RUNNING and written.run_id:
        opened = OpenRunRow(id=written.run_id, started_at=run.started_at, rid=run.rid, meta=run.meta or {})
    monitor_cache.remember(
        lookup.params,
        monitor_cache.after_write(
            entry,
            changes=changes,
            opened=opened,
            closed_run_id=run.pk if run is not None else None,
        ),
    )
    return Attempt.WRITTEN


def _counted(monitor: Monitor, ping: PingInput) -> PingInput:
    """The ping as it counts for this monitor (pings.counting): perhaps ignored, perhaps another kind."""
    counted = ping_counted(
        kind=ping.kind,
        exit_code=ping.exit_code,
        method=ping.method,
        body=ping.body.log,
        methods=monitor.methods,
        keywords=monitor.keywords,
    )
    if counted.kind == ping.kind and not counted.note:
        return ping
    return replace(ping, kind=counted.kind, note=counted.note)


def _open_runs_read(rows: tuple[OpenRunRow, ...], rid: uuid.UUID | None) -> OpenRuns | None:
    """The open runs the read brought; None when the ping's rid may be among those it did not."""
    oldest = tuple(_open_run(row.id, row.started_at, row.rid, row.meta) for row in rows[:OPEN_RUNS_READ])
    complete = len(rows) <= OPEN_RUNS_READ
    with_rid = next((run for run in oldest if rid is not None and run.rid == rid), None)
    if rid is not None and with_rid is None and not complete:
        return None
    return OpenRuns(oldest=oldest, complete=complete, with_rid=with_rid)


# --- the locked path -------------------------------------------------------------------------


def _judge_locked(monitor: Monitor, ping: PingInput, now: datetime, rate_columns: dict[str, Any]) -> None:
    before = state_of(monitor)
    open_runs = _open_runs(monitor.id, ping.rid) if monitor.open_runs else NO_OPEN_RUNS
    try:
        transition = _apply_loading(
            before,
            _event(ping, now, open_runs),
            windows=lambda: project_windows(monitor.project_id),
            outages=lambda: outages_known(now),
        )
    except Exception:
        # A monitor whose state cannot be judged (a bug, a corrupt row) still gets its ping
        # stored: the sweeper then retries it with backoff and /healthz shows it.
        logger.exception("could not judge a ping to monitor %s; stored unjudged", monitor.id)
        _record_unjudged(monitor, ping, now, rate_columns)
        return
    runs = runs_write(monitor.id, transition, ping=ping, open_runs=open_runs)
    _store_ping(monitor.id, ping, now, runs.get(PING_RUN), keep_body=ping.kind == PingKind.START)
    work = IncidentWork(
        monitor=monitor, effects=transition.effects, status=transition.state.status, runs=runs
    )
    incidents_write([work])
    Monitor.objects.filter(id=monitor.id).update(
        revision=F("revision") + 1, **changed_columns(before, transition.state), **rate_columns
    )


def _apply_loading(
    state: MonitorState,
    event: Event,
    *,
    windows: Callable[[], tuple[Window, ...]],
    outages: Callable[[], tuple[Outage, ...]],
) -> Transition:
    """`apply`, reading maintenance windows and outages only when a rule asks for them."""
    context = Context()
    while True:
        try:
            return apply(state, event, context)
        except ContextNeeded as needed:
            if needed.what == "windows" and context.windows is None:
                context = replace(context, windows=windows())
            elif needed.what == "outages" and context.outages is None:
                context = replace(context, outages=outages())
            else:
                raise


def _event(ping: PingInput, now: datetime, open_runs: OpenRuns) -> Start | Finish:
    if ping.kind == PingKind.START:
        return Start(at=now, rid=ping.rid, open_runs=open_runs)
    succeeded = ping.kind == PingKind.SUCCESS or (ping.kind == PingKind.EXIT and ping.exit_code == 0)
    return Finish(
        at=now,
        succeeded=succeeded,
        exit_code=ping.exit_code,
        meta=ping.body.meta,
        rid=ping.rid,
        open_runs=open_runs,
    )


def _open_runs(monitor_id: int, rid: uuid.UUID | None) -> OpenRuns:
    """The oldest open runs, and the one with `rid` (a finish closes it; a start with it is a retry)."""
    running = Run.objects.filter(monitor_id=monitor_id, status=RunStatus.RUNNING).order_by("started_at", "id")
    columns = ("id", "started_at", "rid", "meta")
    rows = [_open_run(*row) for row in running.values_list(*columns)[: OPEN_RUNS_READ + 1]]
    oldest, complete = tuple(rows[:OPEN_RUNS_READ]), len(rows) <= OPEN_RUNS_READ
    with_rid = next((run for run in oldest if rid is not None and run.rid == rid), None)
    if rid is not None and with_rid is None and not complete:
        row = running.filter(rid=rid).values_list(*columns).first()
        with_rid = None if row is None else _open_run(*row)
    return OpenRuns(oldest=oldest, complete=complete, with_rid=with_rid)


def _open_run(run_id: int, started_at: datetime, rid: uuid.UUID | None, meta: dict[str, Any]) -> OpenRun:
    return OpenRun(id=run_id, started_at=started_at, rid=rid, meta=meta or {})


# --- runs and pings --------------------------------------------------------------------------


def _ping_run(monitor_id: int, ping: PingInput, transition: Transition, open_runs: OpenRuns) -> Run | None:
    """The run the ping starts or finishes, unsaved: new (no pk), or the open run it closes (with
    its pk); None when it starts or finishes none (a retried start)."""
    for effect in transition.effects:
        if isinstance(effect, RunStarted):
            return Run(
                monitor_id=monitor_id,
                rid=ping.rid,
                status=RunStatus.RUNNING,
                started_at=effect.at,
                meta=ping.body.meta,
                overlap=effect.overlap,
            )
        if isinstance(effect, RunFinished):
            if effect.closes is None:
                run = Run(monitor_id=monitor_id, rid=ping.rid)
            else:
                closed = next(
                    r for r in (*open_runs.oldest, open_runs.with_rid) if r and r.id == effect.closes
                )
                run = Run(
                    id=closed.id,
                    monitor_id=monitor_id,
                    rid=closed.rid,
                    started_at=closed.started_at,
                    meta=dict(closed.meta),
                )
            _finished(run, ping, effect)
            return run
    return None


def _finished(run: Run, ping: PingInput, effect: RunFinished) -> None:
    run.status = RunStatus.SUCCESS if effect.succeeded else RunStatus.FAILED
    run.finished_at = effect.at
    run.duration_ms = effect.duration_ms
    run.exit_code = ping.exit_code
    run.meta = {**run.meta, **ping.body.meta}
    run.log = ping.body.log
    run.log_truncated = ping.body.truncated


def runs_write(
    monitor_id: int,
    transition: Transition,
    *,
    ping: PingInput | None = None,
    open_runs: OpenRuns = NO_OPEN_RUNS,
) -> dict[RunRef, Run]:
    """Write the run effects of `transition`; returns the runs they touched, by reference
    (PING_RUN for the ping's own run, ids for runs closed as too long)."""
    runs: dict[RunRef, Run] = {}
    timed_out = {effect.run: effect for effect in transition.effects if isinstance(effect, RunTimedOut)}
    if timed_out:
        for closed in Run.objects.filter(id__in=timed_out):
            runs_time_out(closed, timed_out[closed.id])
            runs[closed.id] = closed
        Run.objects.bulk_update(list(runs.values()), TIMED_OUT_COLUMNS)
    run = None if ping is None else _ping_run(monitor_id, ping, transition, open_runs)
    if run is not None:
        if run.pk is None:
            run.save()
        else:
            run.save(update_fields=list(CLOSING_COLUMNS))
        runs[PING_RUN] = run
    return runs


TIMED_OUT_COLUMNS = ["status", "finished_at", "duration_ms", "closed_reason"]


def runs_time_out(run: Run, effect: RunTimedOut) -> None:
    """A run still open at its too_long deadline is closed as failed."""
    run.status = RunStatus.FAILED
    run.finished_at = effect.at
    run.duration_ms = effect.duration_ms
    run.closed_reason = "too_long"


def _record_log(monitor: Monitor, ping: PingInput, now: datetime, rate_columns: dict[str, Any]) -> None:
    """A log line changes no state (it is only counted); with a rid it is filed under that
    rid's open run."""
    run = None
    if ping.rid is not None and monitor.open_runs:
        run = Run.objects.filter(monitor_id=monitor.id, status=RunStatus.RUNNING, rid=ping.rid).first()
    _store_ping(monitor.id, ping, now, run, keep_body=True)
    if rate_columns:
        Monitor.objects.filter(id=monitor.id).update(**rate_columns)


def _record_unjudged(monitor: Monitor, ping: PingInput, now: datetime, rate_columns: dict[str, Any]) -> None:
    started = ping.kind == PingKind.START
    succeeded = ping.kind == PingKind.SUCCESS or (ping.kind == PingKind.EXIT and ping.exit_code == 0)
    run = Run.objects.create(
        monitor_id=monitor.id,
        rid=ping.rid,
        status=RunStatus.RUNNING if started else RunStatus.SUCCESS if succeeded else RunStatus.FAILED,
        started_at=now if started else None,
        finished_at=None if started else now,
        exit_code=ping.exit_code,
        meta=ping.body.meta,
        log="" if started else ping.body.log,
        log_truncated=False if started else ping.body.truncated,
    )
    _store_ping(monitor.id, ping, now, run, keep_body=started)
    Monitor.objects.filter(id=monitor.id).update(
        last_ping_at=now,
        deadline=now,
        open_runs=F("open_runs") + int(started),
        revision=F("revision") + 1,
        **rate_columns,
    )


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
        "note": ping.note,
    }


def _store_ping(monitor_id: int, ping: PingInput, now: datetime, run: Run | None, *, keep_body: bool) -> None:
    Ping.objects.create(run=run, **ping_columns(monitor_id, ping, now, keep_body=keep_body))


def parse_rid(raw: str | None) -> uuid.UUID | None:
    if raw is None or raw == "":
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise PingError("rid must be a uuid") from None
