"""Judging one due monitor: runs to evaluate, runs open too long, missed windows, status, deadline.

Called by the sweeper inside a transaction that has already claimed the monitor row, so
nothing here races with pings or other sweepers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.incidents import Problem, incident_join, incident_open, incident_resolve, open_incident_of
from alerts.maintenance import maintenance_until, project_windows
from alerts.models import Incident, MaintenanceWindow
from alerts.slowness import thresholds_around
from alerts.wording import duration_words
from monitors.models import Monitor, MonitorStatus, ScheduleKind, SweeperOutage
from monitors.rules import describe_rule_match, first_matching_rule
from monitors.schedule import due_after_finish, next_due
from monitors.services import open_window, schedule_of
from pings.models import Run, RunStatus

# A sweeper that was down for days must not walk millions of interval windows one by one.
MAX_MISSED_WINDOWS_PER_SWEEP = 1000


@dataclass
class Outcome:
    good: bool
    at: datetime
    run: Run | None = None
    problem: Problem | None = None


@dataclass
class Judgement:
    outcomes: list[Outcome] = field(default_factory=list)

    def bad(self, problem: Problem) -> None:
        self.outcomes.append(Outcome(good=False, at=problem.at, run=problem.run, problem=problem))

    def good(self, run: Run) -> None:
        self.outcomes.append(
            Outcome(good=True, at=run.finished_at or run.started_at or datetime.now(UTC), run=run)
        )


def process_monitor(monitor: Monitor, *, now: datetime, outages: list[SweeperOutage]) -> None:
    """Bring a claimed monitor's state up to `now` and plan its next deadline."""
    if monitor.paused:
        _process_paused(monitor, now)
        if monitor.paused:
            return
    judgement = Judgement()
    _judge_unevaluated_runs(monitor, judgement)
    open_runs = list(
        Run.objects.filter(monitor=monitor, status=RunStatus.RUNNING).order_by("started_at", "id")
    )
    open_runs = _close_runs_open_too_long(monitor, open_runs, judgement, now=now, outages=outages)
    if not open_runs:
        _judge_missed_windows(monitor, judgement, now=now, outages=outages)
    windows = project_windows(monitor.project_id)
    incident = _apply_outcomes(monitor, judgement, windows, now=now)
    monitor.open_runs = len(open_runs)
    monitor.status = _status(monitor, incident, now=now)
    monitor.deadline = _next_deadline(monitor, open_runs, windows, now=now, outages=outages)
    monitor.revision += 1
    monitor.save()


def _process_paused(monitor: Monitor, now: datetime) -> None:
    Run.objects.filter(monitor=monitor, evaluated=False).update(evaluated=True, overlap_reported=True)
    if monitor.paused_until is not None and monitor.paused_until <= now:
        # Resuming starts a fresh window, so the pause itself is never a missed run.
        monitor.paused = False
        monitor.paused_until = None
        monitor.consecutive_bad = 0
        monitor.held_problem = None
        open_window(monitor, start=now)
        return
    monitor.deadline = monitor.paused_until
    monitor.status = MonitorStatus.PAUSED
    monitor.revision += 1
    monitor.save()


# --- runs ---------------------------------------------------------------------------------


def _judge_unevaluated_runs(monitor: Monitor, judgement: Judgement) -> None:
    for run in Run.objects.filter(monitor=monitor, evaluated=False).order_by("id"):
        if run.overlap and not run.overlap_reported:
            started = run.started_at or run.finished_at
            assert started is not None
            judgement.bad(Problem("overlap", "overlap: a second run started", started, run))
            run.overlap_reported = True
        if run.status != RunStatus.RUNNING:
            _judge_finished_run(monitor, run, judgement)
        run.evaluated = True
        run.save(update_fields=["evaluated", "overlap_reported"])


def _judge_finished_run(monitor: Monitor, run: Run, judgement: Judgement) -> None:
    at = run.finished_at or run.started_at
    assert at is not None
    if run.status == RunStatus.FAILED:
        detail = f"failed with exit code {run.exit_code}" if run.exit_code is not None else "failed"
        judgement.bad(Problem("failed", detail, at, run))
        return
    rule = first_matching_rule(monitor.rules, run.meta, run.duration_ms)
    if rule is not None:
        judgement.bad(Problem("rule", describe_rule_match(rule, run.meta, run.duration_ms), at, run))
        return
    threshold, monitor.slow_threshold_ms = thresholds_around(monitor_id=monitor.id, run_id=run.id)
    monitor.runs_since_baseline = 0
    if threshold is not None and run.duration_ms is not None and run.duration_ms > threshold:
        took, limit = duration_words(run.duration_ms / 1000), duration_words(threshold / 1000)
        detail = f"slow: took {took}, threshold {limit}"
        judgement.bad(Problem("slow", detail, at, run))
        return
    judgement.good(run)


def too_long_at(monitor: Monitor, run: Run) -> datetime:
    """At its maximum duration, or with none at the first due + grace after its start."""
    assert run.started_at is not None
    if monitor.max_duration_seconds is not None:
        return run.started_at + timedelta(seconds=monitor.max_duration_seconds)
    grace = timedelta(seconds=monitor.grace_seconds)
    schedule = schedule_of(monitor)
    due = monitor.next_due_at or next_due(schedule, run.started_at)
    while due + grace <= run.started_at:
        due = next_due(schedule, max(due, run.started_at - grace))
    return due + grace


def _close_runs_open_too_long(
    monitor: Monitor,
    open_runs: list[Run],
    judgement: Judgement,
    *,
    now: datetime,
    outages: list[SweeperOutage],
) -> list[Run]:
    still_open = []
    for run in open_runs:
        limit, note = _extended(too_long_at(monitor, run), outages)
        if limit > now:
            still_open.append(run)
            continue
        assert run.started_at is not None
        ran_for = (now - run.started_at).total_seconds()
        if monitor.max_duration_seconds is not None:
            allowed = duration_words(monitor.max_duration_seconds)
            detail = f"running for {duration_words(ran_for)}, limit {allowed}"
        else:
            detail = f"running for {duration_words(ran_for)}, past its next due time and grace"
        run.status = RunStatus.FAILED
        run.finished_at = now
        run.duration_ms = int(ran_for * 1000)
        run.closed_reason = "too_long"
        run.evaluated = True
        run.save()
        judgement.bad(Problem("too_long", detail, now, run, note))
        # Closed as failed, which counts as its finish: the window moves on.
        _finish_moves_window(monitor, run, now)
    return still_open


def _finish_moves_window(monitor: Monitor, run: Run, finished_at: datetime) -> None:
    monitor.next_due_at = due_after_finish(
        schedule_of(monitor),
        finished_at=finished_at,
        grace_seconds=monitor.grace_seconds,
        awaited_due=monitor.next_due_at,
    )
    monitor.window_start = finished_at
    monitor.last_finish_at = finished_at
    monitor.last_duration_ms = run.duration_ms


# --- windows ------------------------------------------------------------------------------


def _judge_missed_windows(
    monitor: Monitor, judgement: Judgement, *, now: datetime, outages: list[SweeperOutage]
) -> None:
    if monitor.next_due_at is None:
        return
    grace = timedelta(seconds=monitor.grace_seconds)
    schedule = schedule_of(monitor)
    for _ in range(MAX_MISSED_WINDOWS_PER_SWEEP):
        missed_at, note = _extended(monitor.next_due_at + grace, outages)
        if missed_at > now:
            return
        judgement.bad(Problem("missed", _missed_detail(monitor, monitor.next_due_at), missed_at, None, note))
        monitor.window_start = monitor.next_due_at
        monitor.next_due_at = next_due(schedule, monitor.next_due_at)
    # Still behind after the cap: skip to the first window that is not over yet.
    monitor.next_due_at = next_due(schedule, now - grace)


def _missed_detail(monitor: Monitor, due: datetime) -> str:
    if monitor.schedule_kind == ScheduleKind.CRON:
        local = due.astimezone(ZoneInfo(monitor.timezone))
        return f"missed its {local:%H:%M} run ({monitor.timezone})"
    every = duration_words(monitor.interval_seconds)
    return f"missed its run due at {due:%Y-%m-%d %H:%M} UTC (every {every})"


def _extended(deadline: datetime, outages: list[SweeperOutage]) -> tuple[datetime, str]:
    """A deadline inside one of our own outages gets the outage's length back as grace."""
    for outage in outages:
        if outage.started_at <= deadline <= outage.ended_at:
            extended = deadline + (outage.ended_at - outage.started_at)
            note = (
                f"grace extended by {duration_words(outage.length_seconds)}: Vigil's sweeper was not running "
                f"from {outage.started_at:%Y-%m-%d %H:%M:%S} to {outage.ended_at:%H:%M:%S} UTC"
            )
            return extended, note
    return deadline, ""


# --- outcomes -> incidents ---------------------------------------------------------------


def _apply_outcomes(
    monitor: Monitor, judgement: Judgement, windows: list[MaintenanceWindow], *, now: datetime
) -> Incident | None:
    incident = open_incident_of(monitor)
    in_maintenance = maintenance_until(windows, now) is not None
    for outcome in judgement.outcomes:
        if outcome.good:
            monitor.consecutive_bad = 0
            monitor.consecutive_good += 1
            monitor.held_problem = None
            if incident is not None and monitor.consecutive_good >= monitor.recovery_threshold:
                monitor.status = MonitorStatus.UP
                reason = f"{monitor.consecutive_good} good run(s) in a row"
                incident_resolve(monitor=monitor, incident=incident, run=outcome.run, reason=reason, now=now)
                incident = None
            continue
        assert outcome.problem is not None
        monitor.consecutive_good = 0
        monitor.consecutive_bad += 1
        if incident is not None:
            incident_join(incident=incident, problem=outcome.problem, now=now)
        elif monitor.consecutive_bad >= monitor.failure_threshold:
            if maintenance_until(windows, outcome.at) is not None or in_maintenance:
                # Held, not alerted; the first problem of the streak is what gets reported.
                monitor.held_problem = monitor.held_problem or _held(outcome.problem)
            else:
                incident = _open(monitor, outcome.problem, now)
    if incident is None and not in_maintenance and monitor.held_problem:
        # Went wrong during maintenance and still wrong now that it is over.
        problem = Problem(
            monitor.held_problem["kind"], monitor.held_problem["detail"], now, None, "held during maintenance"
        )
        incident = _open(monitor, problem, now)
    if incident is not None:
        monitor.held_problem = None
    return incident


def _open(monitor: Monitor, problem: Problem, now: datetime) -> Incident:
    monitor.status = MonitorStatus.DOWN
    return incident_open(monitor=monitor, problem=problem, now=now)


def _held(problem: Problem) -> dict[str, str]:
    return {"kind": problem.kind, "detail": problem.detail}


# --- status and deadline -------------------------------------------------------------------


def _status(monitor: Monitor, incident: Incident | None, *, now: datetime) -> str:
    if incident is not None:
        return MonitorStatus.DOWN
    if monitor.open_runs:
        return MonitorStatus.RUNNING
    if monitor.next_due_at is not None and monitor.next_due_at <= now:
        return MonitorStatus.LATE
    if monitor.last_finish_at is None:
        return MonitorStatus.NEW
    return MonitorStatus.UP


def _next_deadline(
    monitor: Monitor,
    open_runs: list[Run],
    windows: list[MaintenanceWindow],
    *,
    now: datetime,
    outages: list[SweeperOutage],
) -> datetime | None:
    candidates = [_extended(too_long_at(monitor, run), outages)[0] for run in open_runs]
    if not open_runs and monitor.next_due_at is not None:
        missed_at = _extended(monitor.next_due_at + timedelta(seconds=monitor.grace_seconds), outages)[0]
        candidates.append(monitor.next_due_at if monitor.next_due_at > now else missed_at)
    maintenance_end = maintenance_until(windows, now)
    if maintenance_end is not None and monitor.held_problem:
        candidates.append(maintenance_end)
    return min(candidates) if candidates else None
