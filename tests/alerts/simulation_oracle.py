"""The expected incidents of one monitor, recomputed from its configuration and its pings alone.

This is the oracle of tests/alerts/test_simulation.py. It is a second, deliberately naive
implementation of CONTRACT §3 written as a plain event loop: it never reads the engine's
state or code (alerts.detection, pings.services), only the pure schedule functions
(monitors.schedule, which have their own property tests), so a bug in the engine's
bookkeeping (deadlines, counters, windows, the ping path's shortcuts) shows up as a
difference between the two.

Scope: the scenarios the simulator injects. Where the contract leaves a corner open (a
second run starting after an earlier one already outlived its window, or several runs
without a maximum timing out at one instant), the oracle refuses the scenario with an
AssertionError rather than guess. `slow` is kept out of reach by construction (every
successful duration is below three times the shortest one, so below 3 × median) and the
oracle checks that promise too.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from monitors.schedule import Schedule, due_after_finish, next_due


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


@dataclass(frozen=True)
class Ping:
    """One ping as the job sends it. A finish with exit code 0 is a success."""

    at: datetime
    action: Literal["start", "finish"]
    rid: uuid.UUID | None = None
    exit_code: int = 0
    records: int | None = None  # meta.records_processed, if sent


@dataclass
class ExpectedIncident:
    opened_at: datetime
    kind: str
    kinds: list[str]
    resolved_at: datetime | None = None


@dataclass
class Prediction:
    incidents: list[ExpectedIncident] = field(default_factory=list)
    # Every judged outcome by kind ("good" for a good run), for the coverage report.
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class _OpenRun:
    started_at: datetime
    rid: uuid.UUID | None


class _Monitor:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.grace = timedelta(seconds=job.grace_seconds)
        # A new monitor's first window starts when it is created.
        self.due = next_due(job.schedule, job.created_at)
        self.open_runs: list[_OpenRun] = []
        self.bad_in_a_row = 0
        self.good_in_a_row = 0
        self.incident: ExpectedIncident | None = None
        self.prediction = Prediction()
        self.durations: list[float] = []

    # --- time-driven problems ----------------------------------------------------------------

    def too_long_at(self, run: _OpenRun) -> datetime:
        if self.job.max_duration_seconds is not None:
            return run.started_at + timedelta(seconds=self.job.max_duration_seconds)
        # The first due + grace after its start. Each start is handled with the windows up to
        # date, so that is the current window unless an earlier run kept it open past its end.
        assert self.due + self.grace > run.started_at, "run started after an open window ended"
        return self.due + self.grace

    def next_timer(self) -> datetime:
        if self.open_runs:
            return min(self.too_long_at(run) for run in self.open_runs)
        # While a run is open its window is never missed.
        return self.due + self.grace

    def fire(self, at: datetime) -> None:
        if not self.open_runs:
            self.bad("missed", at)
            self.due = next_due(self.job.schedule, self.due)
            return
        expired = [run for run in self.open_runs if self.too_long_at(run) <= at]
        assert len(expired) == 1 or self.job.max_duration_seconds is not None, "simultaneous timeouts"
        for run in expired:
            self.open_runs.remove(run)
            self.bad("too_long", at)
            # Closed as failed, which counts as its finish.
            self.finish_moves_window(at)

    # --- pings ---------------------------------------------------------------------------------

    def ping(self, ping: Ping) -> None:
        if ping.action == "start":
            if self.open_runs and not self.job.allow_overlap:
                self.bad("overlap", ping.at)
            self.open_runs.append(_OpenRun(ping.at, ping.rid))
            return
        run = self.closed_by(ping)
        self.finish_moves_window(ping.at)
        if ping.exit_code != 0:
            self.bad("failed", ping.at)
            return
        if run is not None:
            # Every successful run with a duration is history for `slow`, rule matches included.
            self.durations.append((ping.at - run.started_at).total_seconds())
        if self.job.zero_records_rule and ping.records == 0:
            self.bad("rule", ping.at)
        else:
            self.good(ping.at)

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

    # --- outcomes -> incidents -------------------------------------------------------------------

    def bad(self, kind: str, at: datetime) -> None:
        self.prediction.outcomes[kind] += 1
        self.good_in_a_row = 0
        self.bad_in_a_row += 1
        if self.incident is not None:
            if kind not in self.incident.kinds:
                self.incident.kinds.append(kind)
        elif self.bad_in_a_row >= self.job.failure_threshold:
            self.incident = ExpectedIncident(opened_at=at, kind=kind, kinds=[kind])
            self.prediction.incidents.append(self.incident)

    def good(self, at: datetime) -> None:
        self.prediction.outcomes["good"] += 1
        self.bad_in_a_row = 0
        self.good_in_a_row += 1
        if self.incident is not None and self.good_in_a_row >= self.job.recovery_threshold:
            self.incident.resolved_at = at
            self.incident = None


def predict(job: Job, pings: list[Ping], *, until: datetime) -> Prediction:
    """The incidents of `job` given its pings (in the order they are sent), up to `until` inclusive.

    At one instant, time-driven problems come before pings: a finish exactly at due + grace
    is too late, as a sweeper running at that instant would judge it.
    """
    monitor = _Monitor(job)
    pending = [ping for ping in pings if ping.at <= until]
    assert all(a.at <= b.at for a, b in itertools.pairwise(pending)), "pings out of order"
    position = 0
    while True:
        timer = monitor.next_timer()
        ping_at = pending[position].at if position < len(pending) else None
        if timer <= until and (ping_at is None or timer <= ping_at):
            monitor.fire(timer)
        elif ping_at is not None:
            monitor.ping(pending[position])
            position += 1
        else:
            break
    if monitor.durations:
        # Keeps `slow` (threshold >= 3 × median of recent successes) out of every scenario.
        assert max(monitor.durations) < 3 * min(monitor.durations), "durations could look slow"
    return monitor.prediction
