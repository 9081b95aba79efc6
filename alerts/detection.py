"""Judging due monitors in batches: time-based events only (pings are judged when they arrive).

A batch is claimed with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite's write lock serialises
sweepers anyway), so several housekeeping workers split the due monitors between them and no
ping waits on a monitor another sweeper holds for long. Everything a batch needs is read in a
few statements (its monitors, their projects' maintenance windows, their open runs and open
incidents), `monitors.state.apply(Tick)` decides in memory, and a few bulk statements write
runs, incidents, outbox rows and monitors: a fixed number of statements per batch, whatever
its size. A monitor whose processing raises is left out of its batch and retried later with
exponential backoff (`sweep_failures`), logged once, and counted by /healthz and the metrics.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from alerts.incidents import IncidentWork, incidents_write
from alerts.maintenance import windows_by_project
from alerts.models import Incident
from monitors.models import Monitor
from monitors.state import (
    NO_OPEN_RUNS,
    Context,
    OpenRun,
    OpenRuns,
    Outage,
    RunRef,
    RunTimedOut,
    Tick,
    Transition,
    apply,
)
from monitors.state_rows import changed_columns, set_columns, state_of
from pings.models import Run, RunStatus
from pings.services import TIMED_OUT_COLUMNS, runs_time_out

# Open runs read per monitor (oldest first): more than this many timing out at once take
# another pass.
OPEN_RUNS_READ = 100
MAX_BACKOFF = timedelta(hours=1)
SWEEP_ERROR_CHARS = 500

logger = logging.getLogger(__name__)


@dataclass
class BatchResult:
    claimed: int = 0
    processed: int = 0
    failed: list[tuple[int, BaseException]] = field(default_factory=list)


def detect_batch(
    *, now: datetime, outages: tuple[Outage, ...], batch_size: int, only_ids: list[int] | None = None
) -> BatchResult:
    """Claim up to `batch_size` due monitors (or just `only_ids`), bring them up to `now`, write."""
    result = BatchResult()
    with transaction.atomic():
        claimed = _claim(now, batch_size, only_ids)
        result.claimed = len(claimed)
        if not claimed:
            return result
        windows = windows_by_project(monitor.project_id for monitor in claimed)
        open_runs = _open_runs([monitor.id for monitor in claimed if monitor.open_runs])
        incident_ids = [monitor.id for monitor in claimed if monitor.incident_open]
        open_incidents = {
            incident.monitor_id: incident
            for incident in Incident.objects.filter(monitor_id__in=incident_ids, resolved_at__isnull=True)
        }
        done: list[tuple[Monitor, Transition, dict[str, object]]] = []
        for monitor in claimed:
            runs = open_runs.get(monitor.id, [])
            known = OpenRuns(
                oldest=tuple(_open_run(run) for run in runs[:OPEN_RUNS_READ]),
                complete=len(runs) <= OPEN_RUNS_READ,
            )
            try:
                before = state_of(monitor)
                transition = apply(
                    before,
                    Tick(at=now, open_runs=known if monitor.open_runs else NO_OPEN_RUNS),
                    Context(windows=windows.get(monitor.project_id, ()), outages=outages),
                )
            except Exception as error:
                result.failed.append((monitor.id, error))
                continue
            columns = changed_columns(before, transition.state)
            set_columns(monitor, columns)
            done.append((monitor, transition, columns))
        recovered = [(monitor.id, monitor.sweep_failures) for monitor, _, _ in done if monitor.sweep_failures]
        _write(done, open_runs, open_incidents)
        result.processed = len(done)
    for monitor_id, failures in recovered:
        logger.warning("sweeper: monitor %s processed again after %s failed sweeps", monitor_id, failures)
    return result


def _claim(now: datetime, batch_size: int, only_ids: list[int] | None) -> list[Monitor]:
    due = (
        Monitor.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("project")
        .filter(deadline__lte=now)
        .order_by("deadline")
    )
    if only_ids is not None:
        due = due.filter(id__in=only_ids)
    return list(due[:batch_size])


def _open_runs(monitor_ids: list[int]) -> dict[int, list[Run]]:
    """The oldest OPEN_RUNS_READ + 1 open runs of each monitor, in one read."""
    if not monitor_ids:
        return {}
    ranked = (
        Run.objects.filter(monitor_id__in=monitor_ids, status=RunStatus.RUNNING)
        .annotate(
            position=Window(
                RowNumber(), partition_by=[F("monitor_id")], order_by=[F("started_at").asc(), F("id").asc()]
            )
        )
        .filter(position__lte=OPEN_RUNS_READ + 1)
        .order_by("monitor_id", "started_at", "id")
    )
    runs: dict[int, list[Run]] = defaultdict(list)
    for run in ranked:
        runs[run.monitor_id].append(run)
    return runs


def _open_run(run: Run) -> OpenRun:
    assert run.started_at is not None
    return OpenRun(id=run.id, started_at=run.started_at, rid=run.rid, meta=run.meta or {})


def _write(
    done: list[tuple[Monitor, Transition, dict[str, object]]],
    open_runs: dict[int, list[Run]],
    open_incidents: dict[int, Incident],
) -> None:
    """The batch's runs, incidents, outbox rows and monitors, a few bulk statements in all."""
    timed_out: list[Run] = []
    works = []
    for monitor, transition, _ in done:
        by_id = {run.id: run for run in open_runs.get(monitor.id, [])}
        runs: dict[RunRef, Run] = {}
        for effect in transition.effects:
            if isinstance(effect, RunTimedOut):
                run = by_id[effect.run]
                runs_time_out(run, effect)
                timed_out.append(run)
                runs[run.id] = run
        works.append(
            IncidentWork(
                monitor=monitor, effects=transition.effects, status=transition.state.status, runs=runs
            )
        )
    if timed_out:
        Run.objects.bulk_update(timed_out, TIMED_OUT_COLUMNS)
    incidents_write(works, open_incidents=open_incidents)
    if not done:
        return
    written: set[str] = {"revision"}
    for monitor, _, columns in done:
        written |= set(columns)
        monitor.revision += 1
        if monitor.sweep_failures:
            monitor.sweep_failures, monitor.sweep_error = 0, ""
            written |= {"sweep_failures", "sweep_error"}
    _update_monitors([monitor for monitor, _, _ in done], sorted(written))


def _update_monitors(monitors: list[Monitor], names: list[str]) -> None:
    """The batch's monitors, `names` columns each, in one statement.

    PostgreSQL: an UPDATE joined to a VALUES list. Django's bulk_update builds a CASE WHEN per
    column and row, and compiling it cost five times more than running the whole batch.
    """
    if connection.vendor != "postgresql":
        Monitor.objects.bulk_update(monitors, names)
        return
    by_name = {column.name: column for column in Monitor._meta.concrete_fields}
    columns = [by_name[name] for name in names]
    casts = ["bigint", *(column.db_type(connection) for column in columns)]
    row = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
    targets = ", ".join(f'"{column.column}"' for column in columns)
    assignments = ", ".join(f'"{column.column}" = v."{column.column}"' for column in columns)
    params: list[Any] = []
    for monitor in monitors:
        params.append(monitor.id)
        params.extend(
            column.get_db_prep_save(getattr(monitor, column.attname), connection) for column in columns
        )
    sql = (
        f"UPDATE monitors_monitor AS m SET {assignments} FROM (VALUES {', '.join([row] * len(monitors))}) "
        f'AS v("id", {targets}) WHERE m."id" = v."id"'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def back_off(monitor_id: int, error: BaseException, *, now: datetime | None = None) -> None:
    """Push a monitor whose processing raised back by 2, 4, 8… seconds (at most an hour).

    Logged at its first failure only, so a broken monitor cannot flood the log every second.
    """
    now = now or timezone.now()
    with transaction.atomic():
        failures = (
            Monitor.objects.select_for_update()
            .filter(id=monitor_id)
            .values_list("sweep_failures", flat=True)
            .first()
        )
        if failures is None:
            return  # deleted meanwhile
        failures += 1
        delay = min(timedelta(seconds=2 ** min(failures, 12)), MAX_BACKOFF)
        Monitor.objects.filter(id=monitor_id).update(
            sweep_failures=failures,
            sweep_error=f"{type(error).__name__}: {error}"[:SWEEP_ERROR_CHARS],
            deadline=now + delay,
            revision=F("revision") + 1,
        )
    if failures == 1:
        logger.error(
            "sweeper: monitor %s raised; retried with backoff (see sweep_error)", monitor_id, exc_info=error
        )
