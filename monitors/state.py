"""A monitor's state machine: the one owner of every rule that changes where a monitor stands.

Pure: no ORM, no I/O, no clock. Every entry point builds a `MonitorState` from the monitor's
row (monitors.state_rows), calls `apply(state, event, context)` and writes back what it
returns: the ping path (pings.services), the sweeper (alerts.detection) and the API/UI
services (monitors.services). CONTRACT §3 is the specification.

    transition = apply(state, Finish(at=now, succeeded=False), Context())
    transition.state     # the new MonitorState (status and deadline included)
    transition.effects   # what else to write, as data, in order

Events
    Start, Finish       a ping (log pings change no state). They carry the facts the caller
                        looked up: `open_runs`, the oldest open runs and the one with the
                        ping's rid, read in the same snapshot as the state (or under its row
                        lock, after taking it): a finish closes one of them, and a complete
                        list corrects a drifted counter. Time-based events that fell due
                        before the ping are judged first, so no ordering or speed of pings
                        can hide them.
    Tick                time passed: a pause that ended, runs open too long, missed windows,
                        a held problem whose maintenance window closed.
    Pause, Resume, Edit the API/UI's writes (Edit carries the new `Config`).

Context
    `windows` (maintenance) and `outages` (our own) may each be None when the caller did not
    load them: a rule that needs one raises `ContextNeeded(what)` and the caller loads it and
    applies again. The ping path's single-statement fast path loads neither; a good run on a
    healthy monitor never needs them.

Effects (data; the caller writes them in the same transaction as the state)
    RunStarted, RunFinished, RunTimedOut   run rows
    IncidentOpened, IncidentJoined, ProblemRepeated, IncidentResolved
                                           incidents and their outbox rows

Also: `initial_state` (a new monitor), `status_of`, `deadline_of`, `too_long_at` and
`slow_threshold`, the derivations every writer shares.

To extend: add a field to `MonitorState` (and its column in monitors.state_rows), an event
class handled in `apply`, or an effect class written by its caller; rules read and change
state only through `_Step`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from monitors.maintenance import Window, maintenance_until
from monitors.rules import describe_rule_match, first_matching_rule
from monitors.schedule import Schedule, due_after_finish, next_due
from monitors.slowness import slow_threshold_ms, with_duration
from monitors.wording import duration_words

Status = Literal["new", "up", "running", "late", "down", "paused"]
ProblemKind = Literal["missed", "failed", "too_long", "overlap", "rule", "slow"]
# A problem's or a recovery's run: a run id, the run of the ping being applied, or none.
PING_RUN: Final = "ping"
RunRef = int | Literal["ping"] | None

# A sweeper that was down for days must not walk millions of interval windows one by one.
MAX_MISSED_WINDOWS_PER_TICK = 1000
# Incidents opened within the flap window that make a monitor flapping.
FLAP_OPENS = 3


class ContextNeeded(Exception):
    """A rule needs context the caller did not load (`what`: "windows", "outages", "open runs")."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


# --- state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """What the user configured that the rules read."""

    schedule: Schedule
    grace_seconds: int = 0
    max_duration_seconds: int | None = None
    failure_threshold: int = 1
    recovery_threshold: int = 1
    allow_overlap: bool = False
    rules: Sequence[dict[str, Any]] = ()
    notify_every_failures: int = 0
    # A start or finish ping to a paused monitor resumes it (Healthchecks' default; ours is manual).
    resume_on_ping: bool = False
    # FLAP_OPENS incident openings within this many seconds make the monitor flapping (a
    # setting, FLAP_WINDOW_SECONDS, not per monitor); as long again without one ends it.
    flap_window_seconds: int = 900

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.grace_seconds)


@dataclass(frozen=True)
class Held:
    """A problem seen during maintenance, alerted when the window closes if still unresolved."""

    kind: ProblemKind
    detail: str


@dataclass(frozen=True)
class HeldNotice:
    """A notification held back while flapping: what it would have said."""

    event: Literal["problem", "recovered"]
    at: datetime
    kind: ProblemKind | None = None
    detail: str = ""


@dataclass(frozen=True)
class Flap:
    """A flapping monitor: its problem and recovery notifications are held, and summarised once
    no incident has opened or resolved for the flap window."""

    since: datetime
    # The last incident opened or resolved: stable once the window has passed since.
    last_change_at: datetime
    problems: int = 0
    recoveries: int = 0
    first: HeldNotice | None = None
    last: HeldNotice | None = None

    def holding(self, notice: HeldNotice, *, change: bool) -> Flap:
        return replace(
            self,
            last_change_at=notice.at if change else self.last_change_at,
            problems=self.problems + (notice.event == "problem"),
            recoveries=self.recoveries + (notice.event == "recovered"),
            first=self.first or notice,
            last=notice,
        )


@dataclass(frozen=True)
class MonitorState:
    config: Config
    # The start of the current due window: creation, the last finish, a missed window, a resume.
    window_start: datetime
    # The due time (before grace), as the API reports it.
    next_due_at: datetime | None
    # When the sweeper next needs to look (None: never); derived by `deadline_of`.
    deadline: datetime | None
    status: Status = "new"
    paused: bool = False
    paused_until: datetime | None = None
    incident_open: bool = False
    last_ping_at: datetime | None = None
    last_start_at: datetime | None = None
    last_finish_at: datetime | None = None
    last_duration_ms: int | None = None
    open_runs: int = 0
    # The start of the oldest open run (too_long counts from it); None when none is open.
    running_since: datetime | None = None
    consecutive_bad: int = 0
    consecutive_good: int = 0
    held: Held | None = None
    # Repeat notifications (notify_every_failures) sent for the open incident.
    repeats_notified: int = 0
    # The latest successful durations, oldest first: the window `slow` is judged against.
    recent_durations_ms: tuple[int, ...] = ()
    # When the latest incidents opened (at most FLAP_OPENS - 1 of them), oldest first.
    recent_opens: tuple[datetime, ...] = ()
    # Set while the monitor is flapping.
    flap: Flap | None = None


# The names `_Step.change` may set.
_STATE_FIELDS = frozenset(state_field.name for state_field in fields(MonitorState))


# --- events --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenRun:
    id: int
    started_at: datetime
    rid: UUID | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OpenRuns:
    """Open runs the caller looked up: the oldest ones, oldest first (`complete` when that is
    all of them), and the open run carrying the ping's rid wherever it is in that order."""

    oldest: tuple[OpenRun, ...] = ()
    complete: bool = True
    with_rid: OpenRun | None = None


NO_OPEN_RUNS: Final = OpenRuns()


@dataclass(frozen=True)
class Start:
    at: datetime
    rid: UUID | None = None
    # None: not looked up (enough while the monitor has no open run).
    open_runs: OpenRuns | None = None


@dataclass(frozen=True)
class Finish:
    at: datetime
    succeeded: bool
    exit_code: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    rid: UUID | None = None
    open_runs: OpenRuns | None = None


@dataclass(frozen=True)
class Tick:
    at: datetime
    open_runs: OpenRuns | None = None


@dataclass(frozen=True)
class Pause:
    at: datetime
    until: datetime | None = None


@dataclass(frozen=True)
class Resume:
    at: datetime


@dataclass(frozen=True)
class Edit:
    at: datetime
    config: Config


Event = Start | Finish | Tick | Pause | Resume | Edit


@dataclass(frozen=True)
class Outage:
    """A gap in the sweeper's heartbeat: deadlines inside it get its length back as grace."""

    started_at: datetime
    ended_at: datetime


@dataclass(frozen=True)
class Context:
    windows: tuple[Window, ...] | None = None
    outages: tuple[Outage, ...] | None = None


# --- effects -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    detail: str
    # When it happened: a missed window's end, a ping's arrival, the moment a run timed out.
    at: datetime
    run: RunRef = None
    # How the engine decided, for the incident log (e.g. grace extended for our own outage).
    note: str = ""


@dataclass(frozen=True)
class RunStarted:
    at: datetime
    overlap: bool


@dataclass(frozen=True)
class RunFinished:
    """The ping's finish: it closes open run `closes`, or is a run of its own (None)."""

    at: datetime
    closes: int | None
    succeeded: bool
    duration_ms: int | None


@dataclass(frozen=True)
class RunTimedOut:
    """Open run `run` closed as failed (too_long), which counts as its finish."""

    run: int
    at: datetime
    duration_ms: int


@dataclass(frozen=True)
class IncidentOpened:
    problem: Problem
    at: datetime
    # False while flapping: recorded, its notification held for the summary.
    notify: bool = True
    # This opening made the monitor flapping: its notification says that what follows is held.
    starts_flapping: bool = False


@dataclass(frozen=True)
class IncidentJoined:
    """A problem while the incident is open: added to its kinds and log, not notified."""

    problem: Problem
    at: datetime


@dataclass(frozen=True)
class ProblemRepeated:
    """notify_every_failures: the `repeat`-th repeat of the open incident's problem notification."""

    problem: Problem
    at: datetime
    repeat: int
    failures_in_a_row: int


@dataclass(frozen=True)
class IncidentResolved:
    at: datetime
    run: RunRef
    reason: str
    notify: bool = True


@dataclass(frozen=True)
class FlapSummary:
    """The flapping monitor has been stable for the flap window: one notification for what was held."""

    at: datetime
    flap: Flap


Effect = (
    RunStarted
    | RunFinished
    | RunTimedOut
    | IncidentOpened
    | IncidentJoined
    | ProblemRepeated
    | IncidentResolved
    | FlapSummary
)
INCIDENT_EFFECTS: Final = (IncidentOpened, IncidentJoined, ProblemRepeated, IncidentResolved, FlapSummary)


@dataclass(frozen=True)
class Transition:
    state: MonitorState
    effects: tuple[Effect, ...] = ()

    @property
    def touches_incidents(self) -> bool:
        return any(isinstance(effect, INCIDENT_EFFECTS) for effect in self.effects)


# --- the rules -----------------------------------------------------------------------------


def apply(state: MonitorState, event: Event, context: Context | None = None) -> Transition:
    """The state after `event` (at `event.at`) and the effects to write with it."""
    context = context or Context()
    if isinstance(event, Start):
        return _start(state, event, context)
    if isinstance(event, Finish):
        return _finish(state, event, context)
    if isinstance(event, Tick):
        step = _Step(state, event.at, context, event.open_runs)
        _time_passes(step)
        return step.settle()
    if isinstance(event, Pause):
        step = _Step(state, event.at, context, None)
        step.change(paused=True, paused_until=event.until)
        return step.settle()
    if isinstance(event, Resume):
        if not state.paused:
            return Transition(state)
        step = _Step(_resumed(state, event.at), event.at, context, None)
        return step.settle()
    return _edit(state, event, context)


def initial_state(config: Config, *, created_at: datetime, paused: bool = False) -> MonitorState:
    """A new monitor: its first window starts when it is created."""
    state = MonitorState(
        config=config,
        window_start=created_at,
        next_due_at=next_due(config.schedule, created_at),
        deadline=None,
        paused=paused,
    )
    return replace(
        state, status=status_of(state, created_at), deadline=deadline_of(state, created_at, Context())
    )


def status_of(state: MonitorState, at: datetime) -> Status:
    if state.paused:
        return "paused"
    if state.incident_open:
        return "down"
    if state.open_runs:
        return "running"
    if state.next_due_at is not None and state.next_due_at <= at:
        return "late"
    if state.last_finish_at is None:
        return "new"
    return "up"


def deadline_of(state: MonitorState, at: datetime, context: Context) -> datetime | None:
    """When the sweeper next needs to look: the end of a pause, an open run's too_long, the due
    time (late) then due + grace (missed), a held problem's maintenance end.

    Context the caller did not load makes the answer `at` (look now) where it matters: the
    sweeper then decides with everything loaded.
    """
    flap_end = None if state.flap is None else flap_ends_at(state)
    if state.paused:
        return min((d for d in (state.paused_until, flap_end) if d is not None), default=None)
    candidates = [] if flap_end is None else [flap_end]
    if state.open_runs:
        # While a run is open its window is never missed.
        if state.running_since is None:
            candidates.append(at)
        else:
            limit = too_long_at(state.config, state.next_due_at, state.running_since)
            candidates.append(_extended(limit, at, context, lenient=True)[0])
    elif state.next_due_at is not None:
        missed_at = state.next_due_at + state.config.grace
        if state.next_due_at > at:
            candidates.append(state.next_due_at)
        else:
            candidates.append(_extended(missed_at, at, context, lenient=True)[0])
    if state.held is not None:
        if context.windows is None:
            candidates.append(at)
        elif (end := maintenance_until(context.windows, at)) is not None:
            candidates.append(end)
    return min(candidates) if candidates else None


def too_long_at(config: Config, next_due_at: datetime | None, started_at: datetime) -> datetime:
    """At its maximum duration, or with none at the first due + grace after its start."""
    if config.max_duration_seconds is not None:
        return started_at + timedelta(seconds=config.max_duration_seconds)
    due = next_due_at or next_due(config.schedule, started_at)
    while due + config.grace <= started_at:
        due = next_due(config.schedule, max(due, started_at - config.grace))
    return due + config.grace


def flap_ends_at(state: MonitorState) -> datetime | None:
    """When a flapping monitor counts as stable (its held notifications summarised then)."""
    if state.flap is None:
        return None
    return state.flap.last_change_at + timedelta(seconds=state.config.flap_window_seconds)


def slow_threshold(state: MonitorState) -> int | None:
    """The duration above which the next successful run is `slow` (ms), once there is history."""
    return slow_threshold_ms(state.recent_durations_ms)


# --- events --------------------------------------------------------------------------------


def _start(state: MonitorState, event: Start, context: Context) -> Transition:
    step = _Step(_resumed_by_ping(state, event.at), event.at, context, event.open_runs)
    _time_passes(step)
    current = step.state
    if event.rid is not None and step.open_with_rid(event.rid) is not None:
        # A retried start (the client never saw our answer): that run is already open.
        return step.settle()
    overlap = current.open_runs > 0 and not current.config.allow_overlap and not current.paused
    step.change(
        last_ping_at=event.at,
        last_start_at=event.at,
        open_runs=current.open_runs + 1,
        running_since=current.running_since if current.open_runs else event.at,
    )
    step.effects.append(RunStarted(at=event.at, overlap=overlap))
    if overlap:
        step.bad(Problem("overlap", "overlap: a second run started", event.at, PING_RUN))
    return step.settle()


def _finish(state: MonitorState, event: Finish, context: Context) -> Transition:
    step = _Step(_resumed_by_ping(state, event.at), event.at, context, event.open_runs)
    _time_passes(step)
    closes = step.closed_by(event.rid)
    duration_ms = None if closes is None else _milliseconds(event.at - closes.started_at)
    step.change(last_ping_at=event.at)
    _finish_moves_window(step, event.at, duration_ms, closes)
    step.effects.append(
        RunFinished(
            at=event.at,
            closes=None if closes is None else closes.id,
            succeeded=event.succeeded,
            duration_ms=duration_ms,
        )
    )
    if step.state.paused:
        return step.settle()  # recorded, never judged
    if not event.succeeded:
        detail = "failed" if event.exit_code is None else f"failed with exit code {event.exit_code}"
        step.bad(Problem("failed", detail, event.at, PING_RUN))
        return step.settle()
    current = step.state
    meta = {**(closes.meta if closes else {}), **event.meta}
    rule = first_matching_rule(list(current.config.rules), meta, duration_ms)
    threshold = slow_threshold(current)
    if duration_ms is not None:
        # Every successful run with a duration is history for `slow`, rule matches included.
        step.change(recent_durations_ms=with_duration(current.recent_durations_ms, duration_ms))
    if rule is not None:
        step.bad(Problem("rule", describe_rule_match(rule, meta, duration_ms), event.at, PING_RUN))
    elif threshold is not None and duration_ms is not None and duration_ms > threshold:
        took, limit = duration_words(duration_ms / 1000), duration_words(threshold / 1000)
        step.bad(Problem("slow", f"slow: took {took}, threshold {limit}", event.at, PING_RUN))
    else:
        step.good(PING_RUN)
    return step.settle()


def _edit(state: MonitorState, event: Edit, context: Context) -> Transition:
    old, new = state.config, event.config
    edited = replace(state, config=new)
    if new.schedule != old.schedule or new.grace_seconds != old.grace_seconds:
        edited = replace(edited, next_due_at=_replanned_due(edited))
    # A held problem waits for the sweeper, which reads the maintenance windows.
    return _Step(edited, event.at, context, None).settle(judge_held=False)


def _replanned_due(state: MonitorState) -> datetime:
    """The current window's due time under a new schedule or grace."""
    schedule = state.config.schedule
    if state.last_finish_at is not None and state.window_start == state.last_finish_at:
        return due_after_finish(
            schedule,
            finished_at=state.window_start,
            grace_seconds=state.config.grace_seconds,
            awaited_due=None,
        )
    return next_due(schedule, state.window_start)


def _resumed(state: MonitorState, at: datetime) -> MonitorState:
    """Resuming starts a fresh window and a fresh streak, so the pause itself is never a problem."""
    return replace(
        state,
        paused=False,
        paused_until=None,
        consecutive_bad=0,
        held=None,
        window_start=at,
        next_due_at=next_due(state.config.schedule, at),
    )


def _resumed_by_ping(state: MonitorState, at: datetime) -> MonitorState:
    """`resume_on_ping`: the ping resumes a paused monitor as a manual resume would, then counts."""
    return _resumed(state, at) if state.paused and state.config.resume_on_ping else state


# --- time ----------------------------------------------------------------------------------


def _time_passes(step: _Step) -> None:
    """Everything due by `step.at`: the end of flapping, an ended pause, runs open too long,
    missed windows."""
    step.end_flapping()
    if step.state.paused:
        until = step.state.paused_until
        if until is None or until > step.at:
            return
        step.state = _resumed(step.state, step.at)
    _close_runs_open_too_long(step)
    if not step.state.open_runs:
        _judge_missed_windows(step)
    step.release_held()


def _close_runs_open_too_long(step: _Step) -> None:
    while step.state.open_runs:
        current = step.state
        since = current.running_since
        if since is not None:
            limit, _ = _extended(
                too_long_at(current.config, current.next_due_at, since), step.at, step.context
            )
            if limit > step.at:
                return
        run = step.oldest_open()
        if run is None:
            return
        limit, note = _extended(
            too_long_at(current.config, current.next_due_at, run.started_at), step.at, step.context
        )
        if limit > step.at:
            step.change(running_since=run.started_at)
            return
        ran_for = step.at - run.started_at
        if current.config.max_duration_seconds is not None:
            allowed = duration_words(current.config.max_duration_seconds)
            detail = f"running for {duration_words(ran_for.total_seconds())}, limit {allowed}"
        else:
            detail = (
                f"running for {duration_words(ran_for.total_seconds())}, past its next due time and grace"
            )
        duration_ms = _milliseconds(ran_for)
        step.effects.append(RunTimedOut(run=run.id, at=step.at, duration_ms=duration_ms))
        # Closed as failed, which counts as its finish: the window moves on.
        _finish_moves_window(step, step.at, duration_ms, run)
        step.bad(Problem("too_long", detail, step.at, run.id, note))


def _judge_missed_windows(step: _Step) -> None:
    config = step.state.config
    for _ in range(MAX_MISSED_WINDOWS_PER_TICK):
        due = step.state.next_due_at
        if due is None:
            return
        missed_at, note = _extended(due + config.grace, step.at, step.context)
        if missed_at > step.at:
            return
        step.change(window_start=due, next_due_at=next_due(config.schedule, due))
        step.bad(Problem("missed", _missed_detail(config, due), missed_at, None, note))
    # Still behind after the cap: skip to the first window that is not over yet.
    step.change(next_due_at=next_due(config.schedule, step.at - config.grace))


def _finish_moves_window(step: _Step, at: datetime, duration_ms: int | None, closed: OpenRun | None) -> None:
    """Finish bookkeeping, for a ping's finish and for a run closed as too long alike."""
    current = step.state
    open_runs, running_since = current.open_runs, current.running_since
    if closed is not None:
        step.forget_open(closed)
        open_runs = max(0, open_runs - 1)
        running_since = step.oldest_start() if open_runs else None
        if open_runs and running_since is None and step.open_complete:
            open_runs = 0  # the lookup saw every open run: the counter had drifted
    step.change(
        last_finish_at=at,
        last_duration_ms=duration_ms,
        window_start=at,
        next_due_at=due_after_finish(
            current.config.schedule,
            finished_at=at,
            grace_seconds=current.config.grace_seconds,
            awaited_due=current.next_due_at,
        ),
        open_runs=open_runs,
        running_since=running_since,
    )


def _extended(
    deadline: datetime, at: datetime, context: Context, *, lenient: bool = False
) -> tuple[datetime, str]:
    """A deadline inside one of our own outages gets the outage's length back as grace."""
    if deadline > at:
        return deadline, ""  # every outage we know of lies in the past
    if context.outages is None:
        if lenient:
            return deadline, ""
        raise ContextNeeded("outages")
    for outage in context.outages:
        if outage.started_at <= deadline <= outage.ended_at:
            length = outage.ended_at - outage.started_at
            note = (
                f"grace extended by {duration_words(length.total_seconds())}: Vigil's sweeper was not "
                f"running from {outage.started_at:%Y-%m-%d %H:%M:%S} to {outage.ended_at:%H:%M:%S} UTC"
            )
            return deadline + length, note
    return deadline, ""


def _missed_detail(config: Config, due: datetime) -> str:
    schedule = config.schedule
    if schedule.kind == "cron":
        local = due.astimezone(ZoneInfo(schedule.timezone))
        return f"missed its {local:%H:%M} run ({schedule.timezone})"
    return f"missed its run due at {due:%Y-%m-%d %H:%M} UTC (every {duration_words(schedule.seconds)})"


def _milliseconds(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


# --- outcomes -> incidents -------------------------------------------------------------------


class _Step:
    """One transition being built: the state so far, its effects, and the open runs known."""

    def __init__(
        self, state: MonitorState, at: datetime, context: Context, open_runs: OpenRuns | None
    ) -> None:
        self.state = state
        self.at = at
        self.context = context
        self.effects: list[Effect] = []
        self._oldest: list[OpenRun] | None = None if open_runs is None else list(open_runs.oldest)
        self.open_complete = open_runs is not None and open_runs.complete
        self._with_rid = None if open_runs is None else open_runs.with_rid
        if state.open_runs == 0:
            self._oldest, self.open_complete, self._with_rid = [], True, None

    def change(self, **fields: Any) -> None:
        # dataclasses.replace runs __init__ over every field again, several times a ping: a
        # frozen dataclass with no __post_init__ is copied by its __dict__ instead.
        unknown = fields.keys() - _STATE_FIELDS
        if unknown:
            raise TypeError(f"MonitorState has no field {', '.join(sorted(unknown))}")
        state = object.__new__(MonitorState)
        state.__dict__.update(self.state.__dict__, **fields)
        self.state = state

    # open runs

    def _known_open(self) -> list[OpenRun]:
        if self._oldest is None:
            raise ContextNeeded("open runs")
        return self._oldest

    def oldest_open(self) -> OpenRun | None:
        """The oldest open run, if the lookup reached it; None when none is open (or known)."""
        known = self._known_open()
        if known:
            return known[0]
        if self.open_complete:
            self.change(open_runs=0, running_since=None)
        else:
            self.change(running_since=None)  # more than the lookup read: look again next time
        return None

    def oldest_start(self) -> datetime | None:
        known = self._known_open()
        return known[0].started_at if known else None

    def open_with_rid(self, rid: UUID) -> OpenRun | None:
        if not self.state.open_runs:
            return None
        known = self._known_open()
        if self._with_rid is not None and self._with_rid.rid == rid:
            return self._with_rid
        return next((run for run in known if run.rid == rid), None)

    def closed_by(self, rid: UUID | None) -> OpenRun | None:
        """A finish with a rid closes that rid's open run; without one, the oldest open run."""
        if rid is not None:
            return self.open_with_rid(rid)
        if not self.state.open_runs:
            return None
        return self.oldest_open()

    def forget_open(self, run: OpenRun) -> None:
        if self._oldest is not None:
            self._oldest = [known for known in self._oldest if known.id != run.id]
        if self._with_rid is not None and self._with_rid.id == run.id:
            self._with_rid = None

    # outcomes

    def bad(self, problem: Problem) -> None:
        before = self.state
        in_a_row = before.consecutive_bad + 1
        self.change(consecutive_bad=in_a_row, consecutive_good=0)
        if before.incident_open:
            self.effects.append(IncidentJoined(problem=problem, at=self.at))
            every = before.config.notify_every_failures
            if every and in_a_row % every == 0 and not self._in_maintenance(problem.at):
                if before.flap is not None:
                    notice = HeldNotice("problem", self.at, problem.kind, problem.detail)
                    self.change(flap=before.flap.holding(notice, change=False))
                    return
                repeat = before.repeats_notified + 1
                self.change(repeats_notified=repeat)
                self.effects.append(
                    ProblemRepeated(problem=problem, at=self.at, repeat=repeat, failures_in_a_row=in_a_row)
                )
        elif in_a_row >= before.config.failure_threshold:
            if self._in_maintenance(problem.at):
                # Held, not alerted; the first problem of the streak is what gets reported.
                if before.held is None:
                    self.change(held=Held(kind=problem.kind, detail=problem.detail))
            else:
                self._open(problem)

    def good(self, run: RunRef) -> None:
        before = self.state
        in_a_row = before.consecutive_good + 1
        self.change(consecutive_bad=0, consecutive_good=in_a_row, held=None)
        if before.incident_open and in_a_row >= before.config.recovery_threshold:
            self.change(incident_open=False)
            flap = before.flap
            if flap is not None:
                self.change(flap=flap.holding(HeldNotice("recovered", self.at), change=True))
            self.effects.append(
                IncidentResolved(
                    at=self.at, run=run, reason=f"{in_a_row} good run(s) in a row", notify=flap is None
                )
            )

    def _open(self, problem: Problem) -> None:
        before = self.state
        window = timedelta(seconds=before.config.flap_window_seconds)
        opens = (*(at for at in before.recent_opens if at >= self.at - window), self.at)
        flap = before.flap
        notify = flap is None
        if flap is not None:
            flap = flap.holding(HeldNotice("problem", self.at, problem.kind, problem.detail), change=True)
        elif len(opens) >= FLAP_OPENS:
            # This opening is notified (it says the monitor is flapping); what follows is held.
            flap = Flap(since=self.at, last_change_at=self.at)
        self.change(
            incident_open=True,
            held=None,
            repeats_notified=0,
            recent_opens=opens[-(FLAP_OPENS - 1) :],
            flap=flap,
        )
        self.effects.append(
            IncidentOpened(
                problem=problem, at=self.at, notify=notify, starts_flapping=notify and flap is not None
            )
        )

    def end_flapping(self) -> None:
        """Stable for the flap window: flapping ends, with one summary if anything was held."""
        flap = self.state.flap
        end = flap_ends_at(self.state)
        if flap is None or end is None or end > self.at:
            return
        self.change(flap=None)
        if flap.first is not None:
            self.effects.append(FlapSummary(at=self.at, flap=flap))

    def _in_maintenance(self, at: datetime) -> bool:
        windows = self.context.windows
        if windows is None:
            raise ContextNeeded("windows")
        return maintenance_until(windows, at) is not None or maintenance_until(windows, self.at) is not None

    def release_held(self) -> None:
        """A problem held for maintenance and still unresolved when the window closes is alerted then."""
        held = self.state.held
        if held is None or self.state.paused:
            return
        if self.state.incident_open:
            self.change(held=None)
        elif not self._in_maintenance(self.at):
            self._open(Problem(held.kind, held.detail, self.at, None, "held during maintenance"))

    def settle(self, *, judge_held: bool = True) -> Transition:
        if judge_held:
            self.release_held()
        self.change(status=status_of(self.state, self.at))
        self.change(deadline=deadline_of(self.state, self.at, self.context))
        return Transition(self.state, tuple(self.effects))
