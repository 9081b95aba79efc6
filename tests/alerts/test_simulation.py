"""Alert correctness: 200 simulated jobs over 30 days, the real engine against an independent oracle.

A seeded generator writes what 200 cron jobs and heartbeat scripts send over 30 simulated
days: interval and cron schedules in several time zones (five of them change to or from DST
in the window), with missed runs, failures, hangs with and without a maximum duration,
overlapping runs, finishes after the maximum, zero-record successes, runs far slower than their
history, and a failure followed 10 ms later by a success (two pings inside one sweep). Eight
more crash-looping jobs report bursts of failures and successes minutes apart, so their
incidents open three times within FLAP_WINDOW_SECONDS: flapping, held notifications and the
one summary each episode ends with. Some
monitors are paused through the API (until an instant, or until resumed), 60 of them live
in a project with maintenance windows (one-off, and a recurring one in a time zone whose DST
gap swallows its start), every monitor has its own notify_every_failures, and Vigil's sweeper
itself stops six times (our own outages). The test replays all of it through the ping
endpoint and the API (Django's test client) and runs the real sweeper once a second of
simulated time whenever something is due, jumping the clock from event to event. The oracle
(tests/alerts/simulation_oracle.py) recomputes each monitor's incidents from its
configuration, its pings, pauses, windows and outages alone; opened and resolved incidents,
their kinds and every outbox row (problem, each repeat, recovery, flapping summary with what it
held, each with its instant) must match it exactly.

The sweeper runs at whole seconds, before that second's pings, except inside an outage (it
runs at its first and last second); the heartbeat it would write is written at every event,
so the ping path sees an outage in progress as it would in production.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from alerts.models import Channel, Incident, MaintenanceWindow, Notification
from alerts.tasks import sweep
from monitors.models import Monitor, Project, SweeperHeartbeat
from monitors.schedule import Schedule, next_due
from monitors.services import monitor_create
from tests.alerts.simulation_oracle import (
    Event,
    FlapSummary,
    Job,
    OneOffWindow,
    Pause,
    Ping,
    Prediction,
    RecurringWindow,
    Resume,
    World,
    predict,
)
from tests.conftest import make_client
from tests.factories import ProjectFactory

# Committed transactions: on PostgreSQL, thousands of updates to the same rows inside one
# test transaction leave dead versions no query can skip cheaply, and the test slows down.
pytestmark = pytest.mark.django_db(transaction=True)

MONITORS = 200
# Then these crash-looping ones (every other one in the project with maintenance windows).
FLAPPY = 8
FLAPPY_BURSTS = 3
FLAP_WINDOW_SECONDS = 900
# The last 60 live in a project with maintenance windows.
MAINTENANCE_FROM = 140
DAYS = 30
# Berlin, New York and St. John's skip an hour, Sydney repeats one, Lord Howe half of one.
START = datetime(2026, 3, 6, tzinfo=UTC)
DST_ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "America/St_Johns",
    "Australia/Sydney",
    "Australia/Lord_Howe",
)
ZONES = ("UTC", "Asia/Kolkata", *DST_ZONES)
# More seeds over the same window: VIGIL_SIMULATION_SEEDS=1,2,3 (each costs as much as the first).
SEEDS = [20260306, *(int(seed) for seed in os.environ.get("VIGIL_SIMULATION_SEEDS", "").split(",") if seed)]
# Weighted towards the DST changes (all on Sundays) and towards few runs per monitor: every
# ping and every sweep goes through the ORM, so runs are what this test's time is made of.
CRON_EXPRESSIONS = {
    "30 2 * * 0": 3,  # in the hour that DST skips or repeats
    "30 1-3 * * 0": 1,  # before, in and after it
    "0 3 */2 * *": 1,
    "45 9 * * 1,3,5": 1,
    "15 1,13 * * 6": 1,
    "0 4 * * 1": 1,
    "10 0 1,15 * *": 2,
}
GRACES = (30, 60, 120, 300, 900, 1800, 3600)
ZERO_RECORDS_RULE = {"field": "records_processed", "op": "eq", "value": 0}
Fate = Literal["success", "zero", "fail", "missed", "hang", "late", "overlap", "flap", "slow"]
Outcome = Literal["ok", "zero", "fail"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "zero", "fail")
FATES: dict[Fate, float] = {
    "success": 0.65,
    "zero": 0.06,  # success with records_processed=0
    "fail": 0.07,
    "missed": 0.05,
    "hang": 0.04,  # starts, never finishes
    "late": 0.03,  # finishes after its maximum duration, when it was already closed as too long
    "overlap": 0.06,  # a second run starts while the first is open
    "flap": 0.04,  # fails, and a success follows 10 ms later
}
# Monitors whose runs take a steady time: now and then one takes twelve times as long.
STEADY_FATES: dict[Fate, float] = {"success": 0.82, "slow": 0.08, "fail": 0.05, "flap": 0.05}
PROBLEM_KINDS = ("missed", "failed", "too_long", "overlap", "rule", "slow")
# Every so many monitors one runs steadily (STEADY_FATES).
STEADY_EVERY = 25
OUTAGES = 6
SUNDAY_NIGHT = datetime(2026, 3, 15, tzinfo=UTC)
# The share of time-driven deadlines a success is aimed just after (at most one per monitor).
AIMED_SHARE = 0.5
# Pause and resume go through the API; instants on whole seconds, as the sweeper's.
PAUSED_SHARE = 0.12
# A recurring window whose 02:30 start is skipped by Berlin's spring-forward gap on 29 March.
RECURRING_MAINTENANCE = Schedule(kind="cron", expression="30 2 * * *", timezone="Europe/Berlin")
RECURRING_MAINTENANCE_SECONDS = 4 * 3600


# --- the generator ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One ping as sent over HTTP, or a pause or resume through the API; `event` is the same
    thing as the oracle sees it."""

    at: datetime
    monitor: int
    method: str
    action: str  # "", "/start", "/fail", "/<exit status>"; "pause" or "resume" for the API
    query: str
    body: str
    event: Event


@dataclass
class SimulatedMonitor:
    index: int
    job: Job
    fields: dict[str, Any]
    uses_rid: bool
    steady: bool = False
    requests: list[Request] = field(default_factory=list)

    def describe(self) -> str:
        job, schedule = self.job, self.job.schedule
        when = f"{schedule.expression!r} {schedule.timezone}" if schedule.kind == "cron" else schedule.seconds
        return (
            f"#{self.index}: schedule {when}, grace {job.grace_seconds}, max {job.max_duration_seconds}, "
            f"thresholds {job.failure_threshold}/{job.recovery_threshold}, overlap ok {job.allow_overlap}, "
            f"zero-records rule {job.zero_records_rule}, rids {self.uses_rid}, "
            f"every {job.notify_every_failures}, steady {self.steady}, "
            f"maintenance {maintained(self.index)}"
        )


@dataclass(frozen=True)
class Cadence:
    """When a job runs: nominal start times, the shortest gap between two, the jitter around
    them and the base duration, in seconds."""

    slots: list[datetime]
    gap: float
    jitter: tuple[float, float]
    base: float
    # Runs that start and finish within grace, or none at all: no hang, no overlap, no maximum.
    simple: bool = False


class JobScript:
    """Writes one job's pings, within bounds that keep every scenario inside what the oracle judges.

    Runs last from `base` to 2.5 × `base` (so `slow`, at three times the median, never fires)
    and end well within grace of their slot; without rids a hung run is closed before the
    next slot starts, so a finish never closes another slot's run.
    """

    def __init__(self, rng: random.Random, monitor: SimulatedMonitor, cadence: Cadence) -> None:
        self.rng = rng
        self.monitor = monitor
        self.cadence = cadence

    def write(self) -> None:
        fates, weights = zip(*(STEADY_FATES if self.monitor.steady else FATES).items(), strict=True)
        for slot in self.cadence.slots:
            fate: Fate = self.rng.choices(fates, weights)[0]
            if self.cadence.simple and fate in ("hang", "late", "overlap"):
                fate = "missed"
            if fate == "late" and self.monitor.job.max_duration_seconds is None:
                fate = "hang"
            self.run(slot + seconds(self.rng.uniform(*self.cadence.jitter)), fate)

    def run(self, start: datetime, fate: Fate) -> None:
        if fate == "missed":
            return
        if fate == "flap":
            self.finish(start, None, "fail")
            self.finish(start + seconds(0.01), None, "ok")
            return
        rid = self.rid()
        if fate in ("hang", "late", "overlap") or self.monitor.steady or self.rng.random() < 0.4:
            self.start(start, rid)
        base = self.cadence.base
        if self.monitor.steady:
            took = 12 * base if fate == "slow" else self.rng.uniform(base, 1.3 * base)
            self.finish(start + seconds(took), rid, "fail" if fate == "fail" else "ok")
        elif fate == "overlap":
            self.overlap(start, rid)
        elif fate == "late":
            max_duration = self.monitor.job.max_duration_seconds
            assert max_duration is not None
            self.finish(start + seconds(max_duration + self.rng.uniform(1, self.cadence.gap / 3)), rid)
        elif fate != "hang":
            outcome: Outcome = "zero" if fate == "zero" else "fail" if fate == "fail" else "ok"
            self.finish(start + seconds(self.rng.uniform(base, 2 * base)), rid, outcome)

    def overlap(self, start: datetime, rid: uuid.UUID | None) -> None:
        """The second run starts `lag` after the first; finishes at `first` and `second` after `start`.

        Without rids the first finish closes the oldest run, so both readings (and, with rids,
        either run finishing first) keep every duration between base and 2.5 × base. With a
        maximum, one of them may hang: which one depends on which run the first finish closed.
        """
        base = self.cadence.base
        lag = self.rng.uniform(0.001, base / 2)
        other_rid = self.rid()
        self.start(start + seconds(lag), other_rid)
        first = self.rng.uniform(lag + base, 2 * base)
        second = self.rng.uniform(first + 0.001, lag + 2 * base)
        rids = [rid, other_rid]
        self.rng.shuffle(rids)
        self.finish(start + seconds(first), rids[0])
        # Where overlap is no problem, the hang's too_long opens an incident of its own, at an
        # instant that shows which run was left open.
        job = self.monitor.job
        if job.max_duration_seconds is None or self.rng.random() < (0.3 if job.allow_overlap else 0.6):
            self.finish(start + seconds(second), rids[1])

    def rid(self) -> uuid.UUID | None:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4) if self.monitor.uses_rid else None

    def start(self, at: datetime, rid: uuid.UUID | None) -> None:
        self.send(at, "/start", rid, Ping(at=at, action="start", rid=rid))

    def pause(self, start: datetime, end: datetime, *, until: bool) -> None:
        """A pause at a whole second: until `end`, or until a resume at `end`'s whole second."""
        if until:
            pause = Pause(at=start, until=end)
            body = json.dumps({"until": end.isoformat()})
            self.monitor.requests.append(Request(start, self.monitor.index, "POST", "pause", "", body, pause))
            return
        resume_at = end.replace(microsecond=0)
        self.monitor.requests.append(
            Request(start, self.monitor.index, "POST", "pause", "", "", Pause(at=start))
        )
        self.monitor.requests.append(
            Request(resume_at, self.monitor.index, "POST", "resume", "", "", Resume(at=resume_at))
        )

    def finish(self, at: datetime, rid: uuid.UUID | None, outcome: Outcome | None = None) -> None:
        rng = self.rng
        outcome = outcome or rng.choices(OUTCOMES, [0.8, 0.1, 0.1])[0]
        exit_code, action = 0, rng.choice(["", "", "/0"])
        if outcome == "fail":
            exit_code = rng.choice([1, 2, 127, 137, 255])
            action = rng.choice(["/fail", f"/{exit_code}"])
        records = 0 if outcome == "zero" else rng.randint(1, 5000) if rng.random() < 0.7 else None
        query = body = ""
        if records is not None and rng.random() < 0.3:
            body = f'{{"meta": {{"records_processed": {records}}}, "log": "done"}}'
        elif records is not None:
            query = f"meta.records_processed={records}"
        if self.monitor.steady:
            records = rng.randint(1, 5000)
        ping = Ping(at=at, action="finish", rid=rid, exit_code=exit_code, records=records)
        self.send(at, action, rid, ping, query=query, body=body)

    def send(
        self, at: datetime, action: str, rid: uuid.UUID | None, ping: Ping, *, query: str = "", body: str = ""
    ) -> None:
        if rid is not None:
            query = f"rid={rid}" + (f"&{query}" if query else "")
        method = self.rng.choice(["POST", "PUT"] if body else ["GET", "HEAD", "POST", "PUT"])
        self.monitor.requests.append(Request(at, self.monitor.index, method, action, query, body, ping))


def seconds(value: float) -> timedelta:
    # Milliseconds: both databases store them exactly, and instants never collide by accident.
    return timedelta(milliseconds=round(value * 1000))


def simulate(
    seed: int, start: datetime, end: datetime
) -> tuple[list[SimulatedMonitor], list[tuple[datetime, datetime]]]:
    """The monitors with their requests, and our outages (whole seconds, days apart)."""
    rng = random.Random(seed)
    monitors = []
    for index in range(MONITORS):
        monitor, cadence = configure(rng, index, start)
        script = JobScript(rng, monitor, cadence)
        script.write()
        if rng.random() < PAUSED_SHARE:
            paused_at = whole_second(start + seconds(rng.uniform(2, DAYS - 4) * 86400))
            resumed_at = paused_at + seconds(rng.uniform(3600, 3 * 86400))
            script.pause(paused_at, resumed_at, until=rng.random() < 0.5)
        # A finish after a long maximum can come after the next runs' pings.
        monitor.requests.sort(key=lambda request: request.at)
        monitor.requests = [request for request in monitor.requests if start < request.at <= end]
        assert len({request.at for request in monitor.requests}) == len(monitor.requests), monitor.describe()
        monitors.append(monitor)
    monitors += flappy_monitors(random.Random(seed + 1), start, end)
    outages = []
    for n in range(OUTAGES):
        began = whole_second(start + seconds((2 + 4.5 * n + rng.uniform(0, 3)) * 86400))
        if n == 1:
            # Sunday night, when most of the cron jobs here are due.
            began = whole_second(SUNDAY_NIGHT + seconds(rng.uniform(0, 2 * 3600)))
        outages.append((began, began + timedelta(seconds=rng.randint(2 * 3600, 8 * 3600))))
    return monitors, outages


def maintained(index: int) -> bool:
    """Whether monitor `index` lives in the project with maintenance windows."""
    return MAINTENANCE_FROM <= index < MONITORS or (index >= MONITORS and index % 2 == 1)


def flappy_monitors(rng: random.Random, start: datetime, end: datetime) -> list[SimulatedMonitor]:
    """Daily jobs that now and then crash-loop: a burst of failures and successes, seconds to
    minutes apart (its own generator, so the other monitors' scenarios stay as they were)."""
    monitors = []
    for index in range(MONITORS, MONITORS + FLAPPY):
        schedule = Schedule(kind="interval", seconds=86400)
        job = Job(
            schedule=schedule,
            grace_seconds=3600,
            max_duration_seconds=None,
            failure_threshold=rng.choice([1, 1, 1, 2]),
            recovery_threshold=rng.choice([1, 1, 1, 2]),
            allow_overlap=False,
            zero_records_rule=False,
            created_at=start,
            notify_every_failures=rng.choice([0, 0, 1, 2]),
            flap_window_seconds=FLAP_WINDOW_SECONDS,
        )
        fields = {
            "schedule_kind": "interval",
            "interval_seconds": schedule.seconds,
            "grace_seconds": job.grace_seconds,
            "failure_threshold": job.failure_threshold,
            "recovery_threshold": job.recovery_threshold,
            "notify_every_failures": job.notify_every_failures,
        }
        monitor = SimulatedMonitor(index=index, job=job, fields=fields, uses_rid=False)
        script = JobScript(rng, monitor, Cadence([], 86400, (0.0, 0.0), 1.0))
        for day in range(1, DAYS + 1):
            script.finish(start + seconds(day * 86000 + rng.uniform(0, 300)), None, "ok")
        for _ in range(FLAPPY_BURSTS):
            at = start + seconds(rng.uniform(1, DAYS - 1) * 86400)
            failing = False
            for _ in range(rng.randint(6, 16)):
                failing = not failing if rng.random() < 0.85 else failing
                script.finish(at, None, "fail" if failing else "ok")
                at += seconds(rng.uniform(10, 300))
        if rng.random() < 0.25:
            paused_at = whole_second(start + seconds(rng.uniform(2, DAYS - 4) * 86400))
            script.pause(paused_at, paused_at + seconds(rng.uniform(3600, 86400)), until=rng.random() < 0.5)
        monitor.requests.sort(key=lambda request: request.at)
        monitor.requests = [request for request in monitor.requests if start < request.at <= end]
        assert len({request.at for request in monitor.requests}) == len(monitor.requests), monitor.describe()
        monitors.append(monitor)
    return monitors


def aim_at_deadlines(
    rng: random.Random,
    monitors: list[SimulatedMonitor],
    predictions: list[Prediction],
    outages: list[tuple[datetime, datetime]],
    outage_seconds: int,
) -> int:
    """A success right after a missed window's or a too-long run's deadline, where only the
    ping's own judgement can see that it came late: in the same second, before the sweeper's
    next pass; or, for a deadline inside one of our outages, while the sweeper is still away.

    Aimed with a first prediction; what it changes comes after the deadline it aims at.
    """
    aimed = 0
    for monitor, prediction in zip(monitors, predictions, strict=True):
        for deadline in prediction.deadlines:
            if rng.random() > AIMED_SHARE:
                continue
            outage = next(((start, end) for start, end in outages if start <= deadline <= end), None)
            if outage is None:
                latest = whole_second_at_or_after(deadline) - timedelta(milliseconds=5)
                earliest = deadline + timedelta(milliseconds=5)
            else:
                earliest = max(deadline, outage[0] + timedelta(seconds=outage_seconds + 1))
                latest = outage[1] - timedelta(seconds=1)
            if latest <= earliest:
                continue
            at = earliest + seconds(rng.uniform(0, (latest - earliest).total_seconds()))
            if any(earliest <= request.at <= latest for request in monitor.requests):
                continue
            ping = Ping(at=at, action="finish")
            monitor.requests.append(Request(at, monitor.index, "GET", "", "", "", ping))
            monitor.requests.sort(key=lambda request: request.at)
            aimed += 1
            break  # one per monitor: later deadlines move with it
    return aimed


def whole_second(instant: datetime) -> datetime:
    return instant.replace(microsecond=0)


def maintenance_windows(start: datetime) -> list[OneOffWindow | RecurringWindow]:
    return [
        OneOffWindow(start + timedelta(days=5, hours=10), start + timedelta(days=5, hours=16)),
        OneOffWindow(start + timedelta(days=17, hours=22, minutes=30), start + timedelta(days=18)),
        RecurringWindow(RECURRING_MAINTENANCE, RECURRING_MAINTENANCE_SECONDS),
    ]


def configure(rng: random.Random, index: int, start: datetime) -> tuple[SimulatedMonitor, Cadence]:
    """A random monitor and the cadence of the job behind it."""
    fields: dict[str, Any]
    steady = index % STEADY_EVERY == 1
    if steady:
        schedule, grace, cadence = steady_job(rng, start)
        fields = {"schedule_kind": "interval", "interval_seconds": schedule.seconds}
    elif rng.random() < 0.4:
        schedule, grace, cadence = cron_job(rng, start)
        fields = {
            "schedule_kind": "cron",
            "cron_expression": schedule.expression,
            "timezone": schedule.timezone,
        }
    else:
        schedule, grace, cadence = interval_job(rng, start)
        fields = {"schedule_kind": "interval", "interval_seconds": schedule.seconds}
    uses_rid = rng.random() < 0.5
    max_duration = None
    if not cadence.simple and not steady and rng.random() < 0.55:
        # Longer than any normal run; without rids, short enough to end before the next slot.
        shortest = max(10, int(3 * cadence.base) + 1)
        longest = int(2.5 * cadence.gap) if uses_rid and rng.random() < 0.4 else int(cadence.gap / 3)
        max_duration = rng.randint(shortest, max(shortest, longest))
    job = Job(
        schedule=schedule,
        grace_seconds=grace,
        max_duration_seconds=max_duration,
        failure_threshold=rng.choice([1, 1, 1, 2, 3]),
        recovery_threshold=rng.choice([1, 1, 2, 3]),
        allow_overlap=rng.random() < 0.2,
        zero_records_rule=rng.random() < 0.4,
        created_at=start,
        notify_every_failures=rng.choice([0, 0, 0, 1, 2, 3]),
    )
    fields |= {
        "grace_seconds": job.grace_seconds,
        "max_duration_seconds": job.max_duration_seconds,
        "failure_threshold": job.failure_threshold,
        "recovery_threshold": job.recovery_threshold,
        "allow_overlap": job.allow_overlap,
        "rules": [ZERO_RECORDS_RULE] if job.zero_records_rule else [],
        "notify_every_failures": job.notify_every_failures,
    }
    monitor = SimulatedMonitor(index=index, job=job, fields=fields, uses_rid=uses_rid, steady=steady)
    return monitor, cadence


def steady_job(rng: random.Random, start: datetime) -> tuple[Schedule, int, Cadence]:
    """Runs of a steady length every few hours (enough of them for a history of durations), early
    enough that one taking twelve times as long still ends before its due time."""
    schedule = Schedule(kind="interval", seconds=round(rng.uniform(8, 12) * 3600))
    grace = rng.choice([900, 1800, 3600])
    base = rng.uniform(1, 10)
    jitter = grace / 4
    period = schedule.seconds - (jitter + 12 * base + rng.uniform(1, 300))
    runs = int((DAYS + 1) * 86400 / period) + 1
    slots = [start + seconds(period * n) for n in range(1, runs + 1)]
    return schedule, grace, Cadence(slots, period, (0.0, jitter), base)


def cron_job(rng: random.Random, start: datetime) -> tuple[Schedule, int, Cadence]:
    """Started by cron at each slot, give or take: a finish up to grace before its slot counts for it."""
    expression = rng.choices(list(CRON_EXPRESSIONS), list(CRON_EXPRESSIONS.values()))[0]
    schedule = Schedule(kind="cron", expression=expression, timezone=rng.choice(ZONES))
    slots = [next_due(schedule, start)]
    while slots[-1] < start + timedelta(days=DAYS + 1):
        slots.append(next_due(schedule, slots[-1]))
    gap = min((later - earlier).total_seconds() for earlier, later in itertools.pairwise(slots))
    if rng.random() < 0.25:
        # Grace over half the gap: a finish late for one slot is also "up to grace before" the
        # next one, and must count for the slot it was late for.
        grace = round(rng.uniform(0.6, 0.8) * gap)
        base = rng.uniform(1, min(gap / 20, 600))
        return schedule, grace, Cadence(slots, gap, (0.0, 0.9 * grace - 2.5 * base), base, simple=True)
    grace = rng.choice([grace for grace in GRACES if grace <= gap / 4])
    base = rng.uniform(1, max(1.0, min(grace / 6, gap / 20, 600)))
    return schedule, grace, Cadence(slots, gap, (-grace / 2, grace / 4), base)


def interval_job(rng: random.Random, start: datetime) -> tuple[Schedule, int, Cadence]:
    """A heartbeat on its own timer, a little faster than the interval.

    A punctual one is early enough to absorb its jitter and duration, so it is never even late;
    a drifting one is sometimes late, but within grace. Without grace, punctual.
    """
    hours = rng.uniform(12, 24) if rng.random() < 0.03 else rng.uniform(60, 264)
    schedule = Schedule(kind="interval", seconds=round(hours * 3600))
    graces = [grace for grace in GRACES if grace <= schedule.seconds / 4]
    grace = 0 if rng.random() < 0.1 else rng.choice(graces)
    base = rng.uniform(1, max(1.0, min(grace / 6, 600))) if grace else rng.uniform(1, 20)
    jitter = grace / 4 if grace else 30.0
    punctual = grace == 0 or rng.random() < 0.7
    early = jitter + 2.5 * base + rng.uniform(1, 300) if punctual else rng.uniform(0, grace / 4)
    period = schedule.seconds - early
    runs = int((DAYS + 1) * 86400 / period) + 1
    slots = [start + seconds(period * n) for n in range(1, runs + 1)]
    return schedule, grace, Cadence(slots, period, (0.0, jitter), base)


# --- the driver ------------------------------------------------------------------------------------


def first_deadline() -> datetime | None:
    """The earliest deadline of any monitor; raw SQL because it runs after every ping and sweep."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(deadline) FROM {Monitor._meta.db_table}")
        (value,) = cursor.fetchone()
    if isinstance(value, str):  # SQLite has no datetime type
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert value is None or isinstance(value, datetime)
    return value


def beat(now: datetime) -> None:
    """The heartbeat a sweeper running every second would have written by now (raw SQL: it runs
    before every request)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {SweeperHeartbeat._meta.db_table} SET beat_at = %s WHERE name = %s", [now, "sweeper"]
        )


def whole_second_at_or_after(instant: datetime) -> datetime:
    return datetime.fromtimestamp(math.ceil(instant.timestamp()), UTC)


class Driver:
    """Jumps from event to event: the next sweep (a whole second, when something is due) or the
    next requests; our outages stop the sweeper and its heartbeat."""

    def __init__(
        self,
        client: Client,
        apis: dict[int, APIClient],
        traveller: time_machine.Traveller,
        ids: dict[int, int],
        outages: list[tuple[datetime, datetime]],
    ) -> None:
        self.client, self.apis, self.traveller, self.ids = client, apis, traveller, ids
        self.outages = outages
        self.now = START
        # No sweep before this instant: once per whole second, before that second's requests.
        self.floor = START
        self.pings = 0

    def in_outage(self, instant: datetime) -> bool:
        return any(start < instant < end for start, end in self.outages)

    def sweep_instant(self, deadline: datetime) -> datetime:
        instant = whole_second_at_or_after(max(deadline, self.floor))
        for start, end in self.outages:
            if start < instant < end:
                instant = end
        return instant

    def move(self, instant: datetime) -> None:
        self.now = instant
        self.traveller.move_to(instant)

    def sweep(self) -> int:
        if not any(end == self.now for _, end in self.outages):
            beat(self.now)  # at an outage's end the sweeper itself finds the gap
        processed = sweep()
        self.floor = self.now + timedelta(seconds=1)
        return int(processed)

    def run(self, requests: list[Request], urls: dict[int, str], *, until: datetime) -> None:
        marks = sorted({instant for outage in self.outages for instant in outage})
        SweeperHeartbeat.objects.create(name="sweeper", beat_at=self.now)
        position = 0
        while True:
            deadline = first_deadline()
            sweep_at = None if deadline is None else self.sweep_instant(deadline)
            request_at = requests[position].at if position < len(requests) else None
            mark_at = marks[0] if marks else None
            next_at = min((at for at in (request_at, mark_at) if at is not None), default=None)
            if sweep_at is not None and sweep_at <= until and (next_at is None or sweep_at <= next_at):
                self.move(sweep_at)
                due = deadline is not None and deadline <= sweep_at
                assert self.sweep() or not due, f"a monitor due at {deadline} was not processed at {sweep_at}"
                continue
            if next_at is None or next_at > until:
                return
            self.move(next_at)
            if next_at == mark_at:
                marks.pop(0)
                if any(start == next_at for start, _ in self.outages):
                    beat(next_at)  # the sweeper's last heartbeat before it stops
                elif self.floor <= next_at:
                    self.sweep()  # back: it records the gap as our outage
                continue
            if not self.in_outage(next_at):
                beat(next_at)
            while position < len(requests) and requests[position].at == next_at:
                self.send(requests[position], urls)
                position += 1
            self.floor = max(self.floor, whole_second_at_or_after(next_at + timedelta(microseconds=1)))

    def send(self, request: Request, urls: dict[int, str]) -> None:
        if request.action in ("pause", "resume"):
            api = self.apis[request.monitor]
            path = f"/api/v1/monitors/{self.ids[request.monitor]}/{request.action}/"
            answer = api.post(path, data=request.body or "{}", content_type="application/json")
            assert answer.status_code == 200, (path, answer.status_code, answer.content)
            return
        path = urls[request.monitor] + request.action + (f"?{request.query}" if request.query else "")
        response = self.client.generic(request.method, path, data=request.body, content_type="text/plain")
        assert response.status_code == 200, (path, response.status_code, response.content)
        self.pings += 1


# --- the comparison --------------------------------------------------------------------------------

# (monitor index, instant, what): an incident opened, resolved, its kinds, or an outbox row.
Key = tuple[int, datetime, str]


@dataclass(frozen=True)
class Seen:
    """One incident, as the database or the oracle tells it."""

    monitor: int
    opened_at: datetime
    kind: str
    kinds: tuple[str, ...]
    resolved_at: datetime | None
    held: bool
    repeats: tuple[datetime, ...]
    # Whether its problem and recovery were notified (not held while flapping); the oracle's word.
    problem_notified: bool = True
    recovery_notified: bool = True

    def __str__(self) -> str:
        resolved = f"resolved {self.resolved_at:%m-%d %H:%M:%S.%f}" if self.resolved_at else "open"
        held = " (held)" if self.held else ""
        repeats = f" {len(self.repeats)} repeats" if self.repeats else ""
        return f"{self.opened_at:%m-%d %H:%M:%S.%f} {'+'.join(self.kinds)}{held}{repeats} {resolved}"

    def opened(self) -> Key:
        return (self.monitor, self.opened_at, self.kind + (" held" if self.held else ""))

    def resolved(self) -> Key | None:
        return None if self.resolved_at is None else (self.monitor, self.resolved_at, "")

    def all_kinds(self) -> Key:
        return (self.monitor, self.opened_at, "+".join(self.kinds))


def expected_incidents(monitors: list[SimulatedMonitor], predictions: list[Prediction]) -> list[Seen]:
    return [
        Seen(
            monitor.index,
            incident.opened_at,
            incident.kind,
            tuple(incident.kinds),
            incident.resolved_at,
            incident.held,
            tuple(incident.repeats),
            incident.problem_notified,
            incident.recovery_notified,
        )
        for monitor, prediction in zip(monitors, predictions, strict=True)
        for incident in prediction.incidents
    ]


def stored_incidents(indexes: dict[int, int]) -> list[Seen]:
    rows = Incident.objects.values_list("monitor_id", "opened_at", "kind", "kinds", "resolved_at", "log")
    return [
        Seen(
            indexes[monitor_id],
            opened_at,
            kind,
            tuple(kinds),
            resolved_at,
            any(entry["message"] == "held during maintenance" for entry in log),
            (),
        )
        for monitor_id, opened_at, kind, kinds, resolved_at, log in rows
    ]


def expected_outbox(
    incidents: list[Seen], summaries: dict[int, list[FlapSummary]], channels: list[str]
) -> Counter[Key]:
    """One row per transition per channel, at its instant: the problem that opened each incident,
    each repeat, and the recovery, unless held while flapping; and each flapping summary."""
    rows: Counter[Key] = Counter()
    for incident, channel in itertools.product(incidents, channels):
        if incident.problem_notified:
            rows[(incident.monitor, incident.opened_at, f"problem 0 to {channel}")] += 1
        for number, at in enumerate(incident.repeats, start=1):
            rows[(incident.monitor, at, f"problem {number} to {channel}")] += 1
        if incident.resolved_at is not None and incident.recovery_notified:
            rows[(incident.monitor, incident.resolved_at, f"recovered 0 to {channel}")] += 1
    for (index, held), channel in itertools.product(summaries.items(), channels):
        for summary in held:
            rows[(index, summary.at, f"{_summary_words(summary)} to {channel}")] += 1
    return rows


def _summary_words(summary: FlapSummary) -> str:
    return (
        f"flapping_summary 0 ({summary.problems} problems, {summary.recoveries} recoveries held, "
        f"{summary.first_at:%m-%d %H:%M:%S.%f} to {summary.last_at:%m-%d %H:%M:%S.%f})"
    )


def stored_outbox(indexes: dict[int, int]) -> Counter[Key]:
    rows = Notification.objects.values_list(
        "incident__monitor_id", "created_at", "event", "sequence", "channel__name", "payload"
    )
    return Counter(
        (indexes[monitor], at, f"{_stored_words(event, sequence, payload)} to {channel}")
        for monitor, at, event, sequence, channel, payload in rows
    )


def _stored_words(event: str, sequence: int, payload: dict[str, Any]) -> str:
    if event != "flapping_summary":
        return f"{event} {sequence}"
    held = payload["flapping"]
    return _summary_words(
        FlapSummary(
            at=datetime.fromisoformat(payload["occurred_at"]),
            problems=held["problems_held"],
            recoveries=held["recoveries_held"],
            first_at=datetime.fromisoformat(held["first"]["at"]),
            last_at=datetime.fromisoformat(held["last"]["at"]),
        )
    )


class Comparison:
    """Collects differences as readable lines, and the monitors they concern."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.first_difference: dict[int, datetime] = {}

    def incidents(
        self, label: str, key: Callable[[Seen], Key | None], expected: list[Seen], actual: list[Seen]
    ) -> None:
        self.counters(
            label,
            Counter(k for incident in expected if (k := key(incident)) is not None),
            Counter(k for incident in actual if (k := key(incident)) is not None),
        )

    def counters(self, label: str, expected: Counter[Key], actual: Counter[Key], limit: int = 5) -> None:
        """Counted, so a duplicate in the database is a difference too."""
        for what, keys in (("missing", expected - actual), ("unexpected", actual - expected)):
            if not keys:
                continue
            ordered = sorted(keys.elements(), key=lambda key: (key[1], key[0]))
            first = "; ".join(
                f"#{index} {at:%m-%d %H:%M:%S.%f} {text}" for index, at, text in ordered[:limit]
            )
            self.lines.append(f"{keys.total()} {label} {what}, first: {first}")
            for index, at, _ in ordered:
                self.first_difference[index] = min(at, self.first_difference.get(index, at))

    def report(self, monitors: list[SimulatedMonitor], expected: list[Seen], actual: list[Seen]) -> str:
        """The differences, then the first three monitors concerned: configuration, pings, incidents."""
        lines = list(self.lines)
        for index, at in sorted(self.first_difference.items(), key=lambda item: item[1])[:3]:
            monitor = monitors[index]
            lines.append(f"{monitor.describe()}; its last pings up to {at:%m-%d %H:%M:%S.%f}:")
            lines += [
                f"    {request.at:%m-%d %H:%M:%S.%f} {request.method} {request.action or '/'} {request.query}"
                for request in monitor.requests
                if request.at <= at
            ][-10:]
            for source, incidents in (("oracle", expected), ("database", actual)):
                lines.append(f"  {source}: " + ", ".join(str(i) for i in incidents if i.monitor == index))
        return "\n".join(lines)


@pytest.fixture
def traveller(settings: Any) -> Iterator[time_machine.Traveller]:
    # The real threshold: the driver keeps the heartbeat fresh, so only our outages are gaps.
    settings.SWEEPER_OUTAGE_SECONDS = 15
    settings.FLAP_WINDOW_SECONDS = FLAP_WINDOW_SECONDS
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_incidents_match_the_oracle(
    client: Client, project: Project, traveller: time_machine.Traveller, seed: int, settings: Any
) -> None:
    end = START + timedelta(days=DAYS)
    for zone in DST_ZONES:
        offsets = {instant.astimezone(ZoneInfo(zone)).utcoffset() for instant in (START, end)}
        assert len(offsets) == 2, f"{zone} does not change its offset in the simulated window"
    monitors, outages = simulate(seed, START, end)
    windows = maintenance_windows(START)
    worlds = {
        False: World(outages=tuple(outages), outage_seconds=settings.SWEEPER_OUTAGE_SECONDS),
        True: World(
            outages=tuple(outages), windows=tuple(windows), outage_seconds=settings.SWEEPER_OUTAGE_SECONDS
        ),
    }

    def predictions_now() -> list[Prediction]:
        return [
            predict(
                m.job,
                [request.event for request in m.requests],
                until=end,
                world=worlds[maintained(m.index)],
            )
            for m in monitors
        ]

    aimed = aim_at_deadlines(
        random.Random(seed), monitors, predictions_now(), outages, settings.SWEEPER_OUTAGE_SECONDS
    )
    predictions = predictions_now()

    maintained_project = ProjectFactory.create(name="maintained")
    for window in windows:
        if isinstance(window, OneOffWindow):
            MaintenanceWindow.objects.create(
                project=maintained_project, starts_at=window.starts_at, ends_at=window.ends_at
            )
        else:
            MaintenanceWindow.objects.create(
                project=maintained_project,
                cron_expression=window.schedule.expression,
                timezone=window.schedule.timezone,
                duration_seconds=window.seconds,
            )
    channel_names = ("hook a", "hook b")
    for owner in (project, maintained_project):
        for name in channel_names:
            Channel.objects.create(
                project=owner, kind="webhook", name=name, config={"url": "http://h.invalid"}
            )
    apis = {False: make_client(project), True: make_client(maintained_project)}
    indexes: dict[int, int] = {}
    ids: dict[int, int] = {}
    urls: dict[int, str] = {}
    for monitor in monitors:
        owner = maintained_project if maintained(monitor.index) else project
        created = monitor_create(project=owner, slug=f"job-{monitor.index}", **monitor.fields)
        indexes[created.id], ids[monitor.index] = monitor.index, created.id
        urls[monitor.index] = f"/ping/{created.ping_uuid}"
    requests = sorted((r for monitor in monitors for r in monitor.requests), key=lambda r: (r.at, r.monitor))
    driver = Driver(client, {m.index: apis[maintained(m.index)] for m in monitors}, traveller, ids, outages)
    driver.run(requests, urls, until=end)

    expected, actual = expected_incidents(monitors, predictions), stored_incidents(indexes)
    comparison = Comparison()
    comparison.incidents("opened incidents", Seen.opened, expected, actual)
    comparison.incidents("resolutions", Seen.resolved, expected, actual)
    comparison.incidents("incidents' kinds", Seen.all_kinds, expected, actual)
    summaries = {m.index: p.summaries for m, p in zip(monitors, predictions, strict=True) if p.summaries}
    outbox = expected_outbox(expected, summaries, list(channel_names))
    comparison.counters("outbox rows", outbox, stored_outbox(indexes))
    assert not comparison.lines, comparison.report(monitors, expected, actual)

    # The simulation is only as good as what it provoked: every problem kind, many times over,
    # and each of the situations it exists for.
    outcomes = sum((prediction.outcomes for prediction in predictions), Counter[str]())
    opened = Counter(incident.kind for incident in expected)
    resolved = sum(1 for incident in expected if incident.resolved_at is not None)
    assert all(outcomes[kind] >= 15 and opened[kind] >= 5 for kind in PROBLEM_KINDS), (outcomes, opened)
    assert resolved >= 50, resolved
    requests_by_kind = Counter(type(request.event).__name__ for request in requests)
    flaps = sum(
        1
        for monitor in monitors
        for first, second in itertools.pairwise(monitor.requests)
        if second.at - first.at == timedelta(milliseconds=10)
    )
    coverage = {
        "pings": driver.pings,
        "pauses": requests_by_kind["Pause"],
        "resumes": requests_by_kind["Resume"],
        "two pings within one sweep": flaps,
        "a success just after a deadline, before the sweep": aimed,
        "repeats": sum(len(incident.repeats) for incident in expected),
        "held for maintenance": sum(1 for incident in expected if incident.held),
        "deadlines extended by our outages": sum(prediction.extended for prediction in predictions),
        "flapping summaries": sum(len(prediction.summaries) for prediction in predictions),
        "notifications held while flapping": sum(p.held_while_flapping for p in predictions),
    }
    assert all(count >= 3 for count in coverage.values()), coverage
    assert coverage["two pings within one sweep"] >= 20, coverage
    assert coverage["repeats"] >= 10, coverage
    assert coverage["flapping summaries"] >= 5, coverage
    assert coverage["notifications held while flapping"] >= 20, coverage
