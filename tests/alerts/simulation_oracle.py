"""The expected incidents and notifications of one monitor, recomputed from its configuration, its
pings, the pauses people made, the maintenance windows and Vigil's own outages alone.

This is the oracle of tests/alerts/test_simulation.py: a second, deliberately naive
implementation of CONTRACT §3 written as a plain event loop. It never reads the engine's state
or code (monitors.state, alerts, pings), only the pure schedule functions (monitors.schedule,
which have their own property tests), for schedules and for the starts of recurring
maintenance windows: that DST rule is shared by design. So a bug in the engine's bookkeeping
(deadlines, counters, windows, held problems, the ping path's shortcuts) shows up as a
difference between the two.

Timing, as the simulation's driver provides it: the sweeper runs at every whole second except
strictly inside our outages (it runs at an outage's first and last second), always before the
pings of that instant; a ping first judges whatever fell due by its arrival. A time-driven
problem is judged at the first sweep or ping of its monitor that finds it due. A deadline that
fell inside an outage gets the outage's length back as grace: in full once the sweeper is back,
and, for a ping during the outage, the part so far once the sweeper has been away longer than
`outage_seconds`.

Flapping: when an incident opens and, counting it, FLAP_OPENS incidents opened within the
last `flap_window_seconds` (inclusive), the monitor is flapping; that opening is notified, and
from then on every problem, repeat and recovery notification is held (counted, with the first
and last). Once no incident has opened or resolved for the window, the first sweep or ping that
finds it so sends one summary (only if anything was held) and flapping ends. That moment is
never extended by our outages: it is no problem's deadline.

Scope: the scenarios the simulator injects. Where the contract leaves a corner open (a
second run starting after an earlier one already outlived its window, or several runs without a
maximum timing out at one instant), the oracle refuses the scenario with an AssertionError
rather than guess.
"""

from __future__ import annotations

import itertools
import math
import statistics
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from monitors.schedule import Schedule, due_after_finish, next_due

FLAP_OPENS = 3

# `slow`, as README states it: over the last 20 successful runs with a duration, the threshold
# is max(3 × median, p95 + 1 s); none before 10 of them.
SLOW_HISTORY, SLOW_MINIMUM, SLOW_MARGIN_MS = 20, 10, 1000


@dataclass(frozen=True)
class Job:
    """What a user configured: everything the oracle may know about a monitor."""

    schedule: Schedule
    grace_seconds: int
    max_duration_seconds: int | None
    failure_threshold: int
    recovery_threshold: int
    allow_overlap: bool
    # The rule {"field": "records_processed", "op": "eq", "value": 0}.
    zero_records_rule: bool
    created_at: datetime
    notify_every_failures: int = 0
    flap_window_seconds: int = 900


@dataclass(frozen=True)
class Ping:
    """One ping as the job sends it. A finish with exit code 0 is a success."""

    at: datetime
    action: Literal["start", "finish"]
    rid: uuid.UUID | None = None
    exit_code: int = 0
    records: int | None = None  # meta.records_processed, if sent


@dataclass(frozen=True)
class Pause:
    """`POST …/pause/` at a whole second, optionally until an instant."""

    at: datetime
    until: datetime | None = None


@dataclass(frozen=True)
class Resume:
    """`POST …/resume/` at a whole second."""

    at: datetime


Event = Ping | Pause | Resume


@dataclass(frozen=True)
class OneOffWindow:
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class RecurringWindow:
    schedule: Schedule  # cron: when each window starts
    seconds: int


@dataclass(frozen=True)
class World:
    """What every monitor shares: our outages (whole seconds) and its project's maintenance windows."""

    outages: tuple[tuple[datetime, datetime], ...] = ()
    windows: tuple[OneOffWindow | RecurringWindow, ...] = ()
    outage_seconds: int = 15


@dataclass
class ExpectedIncident:
    opened_at: datetime
    kind: str
    kinds: list[str]
    resolved_at: datetime | None = None
    # When each notify_every_failures repeat was sent.
    repeats: list[datetime] = field(default_factory=list)
    held: bool = False
    # False when the notification was held back because the monitor was flapping.
    problem_notified: bool = True
    recovery_notified: bool = True


@dataclass(frozen=True)
class FlapSummary:
    """The one notification for what a flapping monitor held back."""

    at: datetime
    problems: int
    recoveries: int
    first_at: datetime
    last_at: datetime


@dataclass
class Prediction:
    incidents: list[ExpectedIncident] = field(default_factory=list)
    # Every judged outcome by kind ("good" for a good run), for the coverage report.
    outcomes: Counter[str] = field(default_factory=Counter)
    # Deadlines that got one of our outages back as grace.
    extended: int = 0
    # Every time-driven problem's deadline before any outage extended it, for the generator to aim at.
    deadlines: list[datetime] = field(default_factory=list)
    summaries: list[FlapSummary] = field(default_factory=list)
    # Notifications held while flapping (problems, repeats and recoveries).
    held_while_flapping: int = 0


@dataclass
class _OpenRun:
    started_at: datetime
    rid: uuid.UUID | None


def _milliseconds(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


def _slow_threshold(durations: list[int]) -> int | None:
    recent = sorted(durations[-SLOW_HISTORY:])
    if len(recent) < SLOW_MINIMUM:
        return None
    p95 = recent[min(len(recent) - 1, round(0.95 * (len(recent) - 1)))]
    return int(max(3 * statistics.median(recent), p95 + SLOW_MARGIN_MS))


def _whole_second_at_or_after(instant: datetime) -> datetime:
    seconds = math.ceil(instant.timestamp())
    return datetime.fromtimestamp(seconds, UTC)


class _Monitor:
    def __init__(self, job: Job, world: World) -> None:
        self.job = job
        self.world = world
        self.grace = timedelta(seconds=job.grace_seconds)
        # A new monitor's first window starts when it is created.
        self.due = next_due(job.schedule, job.created_at)
        self.open_runs: list[_OpenRun] = []
        self.bad_in_a_row = 0
        self.good_in_a_row = 0
        self.incident: ExpectedIncident | None = None
        self.held: str | None = None
        self.paused = False
        self.until: datetime | None = None
        self.durations: list[int] = []
        self.prediction = Prediction()
        # No sweep before this instant: one per whole second, before that second's pings.
        self.floor = _whole_second_at_or_after(job.created_at)
        self.flap_window = timedelta(seconds=job.flap_window_seconds)
        self.opened: list[datetime] = []
        self.flapping = False
        # While flapping: the last opening or resolution, and the held notifications' instants
        # and events ("problem" or "recovered").
        self.flap_changed_at: datetime | None = None
        self.flap_held: list[tuple[datetime, str]] = []

    # --- time: sweeps, our outages, maintenance ----------------------------------------------

    def sweep_instant(self, at_or_after: datetime) -> datetime:
        instant = _whole_second_at_or_after(max(at_or_after, self.floor))
        for start, end in self.world.outages:
            if start < instant < end:
                instant = end
        return instant

    def extended(self, deadline: datetime, at: datetime, *, by_ping: bool) -> datetime:
        """The deadline with an outage's length back, if one known at `at` covers it."""
        for start, end in self.world.outages:
            known_end = end if end <= at else None
            away = (at - start).total_seconds()
            if by_ping and start < at < end and away > self.world.outage_seconds:
                known_end = at  # the sweeper is still away: the gap so far
            if known_end is not None and start <= deadline <= known_end:
                return deadline + (known_end - start)
        return deadline

    def maintenance_until(self, at: datetime) -> datetime | None:
        ends = []
        for window in self.world.windows:
            if isinstance(window, OneOffWindow):
                if window.starts_at <= at < window.ends_at:
                    ends.append(window.ends_at)
                continue
            length = timedelta(seconds=window.seconds)
            start = next_due(window.schedule, at - length)
            latest = None
            while start <= at:
                latest = start
                start = next_due(window.schedule, start)
            if latest is not None and at < latest + length:
                ends.append(latest + length)
        return max(ends) if ends else None

    def in_maintenance(self, *instants: datetime) -> bool:
        return any(self.maintenance_until(instant) is not None for instant in instants)

    def too_long_at(self, run: _OpenRun) -> datetime:
        if self.job.max_duration_seconds is not None:
            return run.started_at + timedelta(seconds=self.job.max_duration_seconds)
        # The first due + grace after its start. Each start is handled with the windows up to
        # date, so that is the current window unless an earlier run kept it open past its end.
        assert self.due + self.grace > run.started_at, "run started after an open window ended"
        return self.due + self.grace

    def next_sweep(self) -> datetime:
        """The next sweep that finds something of this monitor's due."""
        stable = []
        if self.flapping:
            assert self.flap_changed_at is not None
            stable.append(self.sweep_instant(self.flap_changed_at + self.flap_window))
        if self.paused:
            until = self.sweep_instant(self.until) if self.until else datetime.max.replace(tzinfo=UTC)
            return min([until, *stable])
        candidates = stable
        if self.open_runs:
            candidates.append(self._extendable_sweep(self.too_long_at(self.open_runs[0])))
        else:
            candidates.append(self._extendable_sweep(self.due + self.grace))
        if self.held is not None and self.incident is None:
            end = self.maintenance_until(self.floor)
            candidates.append(self.sweep_instant(end or self.floor))
        return min(candidates)

    def _extendable_sweep(self, deadline: datetime) -> datetime:
        instant = self.sweep_instant(deadline)
        later = self.extended(deadline, instant, by_ping=False)
        return instant if later <= instant else self.sweep_instant(later)

    def catch_up(self, at: datetime, *, by_ping: bool) -> None:
        """Everything due by `at`: the end of flapping, the end of a pause, runs open too long, missed
        windows, held problems."""
        self.summarise_flapping(at)
        if self.paused:
            if self.until is None or self.until > at:
                return
            self.resume(at)
        while self.open_runs:
            run = self.open_runs[0]
            limit = self.extended(self.too_long_at(run), at, by_ping=by_ping)
            if limit > at:
                break
            self.prediction.extended += limit != self.too_long_at(run)
            self.prediction.deadlines.append(self.too_long_at(run))
            expired = [
                r for r in self.open_runs if self.extended(self.too_long_at(r), at, by_ping=by_ping) <= at
            ]
            assert len(expired) == 1 or self.job.max_duration_seconds is not None, "simultaneous timeouts"
            self.open_runs.pop(0)
            # Closed as failed, which counts as its finish.
            self.finish_moves_window(at)
            self.bad("too_long", at, at)
        if not self.open_runs:
            while True:
                deadline = self.due + self.grace
                missed_at = self.extended(deadline, at, by_ping=by_ping)
                if missed_at > at:
                    break
                self.prediction.extended += missed_at != deadline
                self.prediction.deadlines.append(deadline)
                self.due = next_due(self.job.schedule, self.due)
                self.bad("missed", missed_at, at)
        self.release_held(at)

    # --- events ------------------------------------------------------------------------------

    def ping(self, ping: Ping) -> None:
        if ping.action == "start":
            if self.open_runs and not self.job.allow_overlap and not self.paused:
                self.bad("overlap", ping.at, ping.at)
            self.open_runs.append(_OpenRun(ping.at, ping.rid))
            self.release_held(ping.at)
            return
        run = self.closed_by(ping)
        self.finish_moves_window(ping.at)
        if self.paused:
            return
        if ping.exit_code != 0:
            self.bad("failed", ping.at, ping.at)
        else:
            duration = None if run is None else _milliseconds(ping.at - run.started_at)
            threshold = _slow_threshold(self.durations)
            if duration is not None:
                self.durations.append(duration)
            if self.job.zero_records_rule and ping.records == 0:
                self.bad("rule", ping.at, ping.at)
            elif threshold is not None and duration is not None and duration > threshold:
                self.bad("slow", ping.at, ping.at)
            else:
                self.good(ping.at)
        self.release_held(ping.at)

    def closed_by(self, ping: Ping) -> _OpenRun | None:
        """A finish with a rid closes that rid's run; without one, the oldest; else it is its own run."""
        candidates = [run for run in self.open_runs if ping.rid is None or run.rid == ping.rid]
        if not candidates:
            return None
        self.open_runs.remove(candidates[0])
        return candidates[0]

    def finish_moves_window(self, at: datetime) -> None:
        self.due = due_after_finish(
            self.job.schedule, finished_at=at, grace_seconds=self.job.grace_seconds, awaited_due=self.due
        )

    def pause(self, pause: Pause) -> None:
        self.paused, self.until = True, pause.until

    def resume(self, at: datetime) -> None:
        """A fresh window and a fresh streak: the pause itself is never a problem."""
        self.paused, self.until = False, None
        self.bad_in_a_row, self.held = 0, None
        self.due = next_due(self.job.schedule, at)

    # --- outcomes -> incidents -------------------------------------------------------------------

    def bad(self, kind: str, happened_at: datetime, judged_at: datetime) -> None:
        self.prediction.outcomes[kind] += 1
        self.good_in_a_row = 0
        self.bad_in_a_row += 1
        every = self.job.notify_every_failures
        if self.incident is not None:
            if kind not in self.incident.kinds:
                self.incident.kinds.append(kind)
            if every and self.bad_in_a_row % every == 0 and not self.in_maintenance(happened_at, judged_at):
                if self.flapping:
                    self.hold(judged_at, "problem")
                else:
                    self.incident.repeats.append(judged_at)
        elif self.bad_in_a_row >= self.job.failure_threshold:
            if self.in_maintenance(happened_at, judged_at):
                self.held = self.held or kind
            else:
                self.open(kind, judged_at)

    def good(self, at: datetime) -> None:
        self.prediction.outcomes["good"] += 1
        self.bad_in_a_row = 0
        self.good_in_a_row += 1
        self.held = None
        if self.incident is not None and self.good_in_a_row >= self.job.recovery_threshold:
            self.incident.resolved_at = at
            if self.flapping:
                self.incident.recovery_notified = False
                self.hold(at, "recovered")
                self.flap_changed_at = at
            self.incident = None

    def open(self, kind: str, at: datetime, *, held: bool = False) -> None:
        self.incident = ExpectedIncident(opened_at=at, kind=kind, kinds=[kind], held=held)
        self.prediction.incidents.append(self.incident)
        self.held = None
        self.opened.append(at)
        if self.flapping:
            self.incident.problem_notified = False
            self.hold(at, "problem")
            self.flap_changed_at = at
        elif len([o for o in self.opened if o >= at - self.flap_window]) >= FLAP_OPENS:
            self.flapping, self.flap_changed_at = True, at

    def hold(self, at: datetime, event: str) -> None:
        self.flap_held.append((at, event))
        self.prediction.held_while_flapping += 1

    def summarise_flapping(self, at: datetime) -> None:
        if not self.flapping:
            return
        assert self.flap_changed_at is not None
        if at < self.flap_changed_at + self.flap_window:
            return
        held = self.flap_held
        if held:
            problems = sum(1 for _, event in held if event == "problem")
            self.prediction.summaries.append(
                FlapSummary(at, problems, len(held) - problems, first_at=held[0][0], last_at=held[-1][0])
            )
        self.flapping, self.flap_changed_at, self.flap_held = False, None, []

    def release_held(self, at: datetime) -> None:
        """A problem held for maintenance and still unresolved when it ends is alerted then."""
        if self.held is None or self.paused:
            return
        if self.incident is not None:
            self.held = None
        elif not self.in_maintenance(at):
            self.open(self.held, at, held=True)


def predict(job: Job, events: list[Event], *, until: datetime, world: World | None = None) -> Prediction:
    """The incidents of `job` given its pings, pauses and resumes (in the order they happen), up to
    `until` inclusive.

    At one instant the sweeper goes first: a finish exactly at due + grace is too late, as a
    sweeper running at that instant would judge it.
    """
    monitor = _Monitor(job, world or World())
    pending = [event for event in events if event.at <= until]
    assert all(a.at < b.at for a, b in itertools.pairwise(pending)), "events out of order"
    position = 0
    while True:
        sweep_at = monitor.next_sweep()
        event = pending[position] if position < len(pending) else None
        if sweep_at <= until and (event is None or sweep_at <= event.at):
            monitor.catch_up(sweep_at, by_ping=False)
            monitor.floor = sweep_at + timedelta(seconds=1)
            continue
        if event is None:
            break
        if isinstance(event, Ping):
            monitor.catch_up(event.at, by_ping=True)
            monitor.ping(event)
        elif isinstance(event, Pause):
            monitor.pause(event)
        else:
            monitor.resume(event.at)
        # The driver never sweeps after an instant's events at that instant.
        monitor.floor = max(monitor.floor, _whole_second_at_or_after(event.at + timedelta(microseconds=1)))
        position += 1
    return monitor.prediction
