"""Alert correctness: 200 simulated jobs over 30 days, the real engine against an independent oracle.

A seeded generator writes what 200 cron jobs and heartbeat scripts send over 30 simulated
days: interval and cron schedules in several time zones (five of them change to or from DST
in the window), with missed runs, failures, hangs with and without a maximum duration,
overlapping runs, finishes after the maximum and zero-record successes mixed in. The test
replays those pings through the ping endpoint (Django's test client) and runs the sweeper
task at every deadline, jumping the clock from event to event. The oracle
(tests/alerts/simulation_oracle.py) recomputes each monitor's incidents from its
configuration and pings alone; opened and resolved incidents, their kinds and the outbox
rows must match it exactly.

At one instant the sweeper goes first (a finish exactly at due + grace is too late), then
that instant's pings, then the sweeper again for what they left due, so every incident opens
and resolves at the instant of its cause: that is what makes an exact comparison possible.
"""

from __future__ import annotations

import itertools
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

from alerts.models import Channel, Incident, Notification
from alerts.tasks import sweep
from monitors.models import Monitor, Project
from monitors.schedule import Schedule, next_due
from monitors.services import monitor_create
from tests.alerts.simulation_oracle import Job, Ping, Prediction, predict

# Committed transactions: on PostgreSQL, thousands of updates to the same rows inside one
# test transaction leave dead versions no query can skip cheaply, and the test slows down.
pytestmark = pytest.mark.django_db(transaction=True)

MONITORS = 200
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
Fate = Literal["success", "zero", "fail", "missed", "hang", "late", "overlap"]
Outcome = Literal["ok", "zero", "fail"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "zero", "fail")
FATES: dict[Fate, float] = {
    "success": 0.69,
    "zero": 0.06,  # success with records_processed=0
    "fail": 0.07,
    "missed": 0.05,
    "hang": 0.04,  # starts, never finishes
    "late": 0.03,  # finishes after its maximum duration, when it was already closed as too long
    "overlap": 0.06,  # a second run starts while the first is open
}
PROBLEM_KINDS = ("missed", "failed", "too_long", "overlap", "rule")


# --- the generator ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One ping as sent over HTTP; `ping` is the same ping as the oracle sees it."""

    at: datetime
    monitor: int
    method: str
    action: str  # "", "/start", "/fail" or "/<exit status>"
    query: str
    body: str
    ping: Ping


@dataclass
class SimulatedMonitor:
    index: int
    job: Job
    fields: dict[str, Any]
    uses_rid: bool
    requests: list[Request] = field(default_factory=list)

    def describe(self) -> str:
        job, schedule = self.job, self.job.schedule
        when = f"{schedule.expression!r} {schedule.timezone}" if schedule.kind == "cron" else schedule.seconds
        return (
            f"#{self.index}: schedule {when}, grace {job.grace_seconds}, max {job.max_duration_seconds}, "
            f"thresholds {job.failure_threshold}/{job.recovery_threshold}, overlap ok {job.allow_overlap}, "
            f"zero-records rule {job.zero_records_rule}, rids {self.uses_rid}"
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
        fates, weights = zip(*FATES.items(), strict=True)
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
        rid = self.rid()
        if fate in ("hang", "late", "overlap") or self.rng.random() < 0.4:
            self.start(start, rid)
        base = self.cadence.base
        if fate == "overlap":
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


def simulate(seed: int, start: datetime, end: datetime) -> list[SimulatedMonitor]:
    rng = random.Random(seed)
    monitors = []
    for index in range(MONITORS):
        monitor, cadence = configure(rng, index, start)
        JobScript(rng, monitor, cadence).write()
        # A finish after a long maximum can come after the next runs' pings.
        monitor.requests.sort(key=lambda request: request.at)
        monitor.requests = [request for request in monitor.requests if start < request.at <= end]
        assert len({request.at for request in monitor.requests}) == len(monitor.requests), monitor.describe()
        monitors.append(monitor)
    return monitors


def configure(rng: random.Random, index: int, start: datetime) -> tuple[SimulatedMonitor, Cadence]:
    """A random monitor and the cadence of the job behind it."""
    fields: dict[str, Any]
    if rng.random() < 0.4:
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
    if not cadence.simple and rng.random() < 0.55:
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
    )
    fields |= {
        "grace_seconds": job.grace_seconds,
        "max_duration_seconds": job.max_duration_seconds,
        "failure_threshold": job.failure_threshold,
        "recovery_threshold": job.recovery_threshold,
        "allow_overlap": job.allow_overlap,
        "rules": [ZERO_RECORDS_RULE] if job.zero_records_rule else [],
    }
    return SimulatedMonitor(index=index, job=job, fields=fields, uses_rid=uses_rid), cadence


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


def drive(
    client: Client,
    traveller: time_machine.Traveller,
    requests: list[Request],
    urls: dict[int, str],
    *,
    until: datetime,
) -> int:
    """Jump from event to event, the next deadline or the next pings; returns how many pings were sent."""
    now = datetime.min.replace(tzinfo=UTC)
    position = 0
    while True:
        deadline = first_deadline()
        ping_at = requests[position].at if position < len(requests) else None
        if deadline is not None and deadline <= until and (ping_at is None or deadline <= ping_at):
            # Time-driven problems before the pings of the same instant.
            now = max(now, deadline)
            traveller.move_to(now)
            assert sweep(), f"a monitor due at {deadline} was not processed at {now}"
            continue
        if ping_at is None:
            return position
        now = ping_at
        traveller.move_to(now)
        while position < len(requests) and requests[position].at == now:
            request = requests[position]
            path = urls[request.monitor] + request.action + (f"?{request.query}" if request.query else "")
            response = client.generic(request.method, path, data=request.body, content_type="text/plain")
            assert response.status_code == 200, (path, response.status_code, response.content)
            position += 1


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

    def __str__(self) -> str:
        resolved = f"resolved {self.resolved_at:%m-%d %H:%M:%S.%f}" if self.resolved_at else "open"
        return f"{self.opened_at:%m-%d %H:%M:%S.%f} {'+'.join(self.kinds)} {resolved}"

    def opened(self) -> Key:
        return (self.monitor, self.opened_at, self.kind)

    def resolved(self) -> Key | None:
        return None if self.resolved_at is None else (self.monitor, self.resolved_at, "")

    def all_kinds(self) -> Key:
        return (self.monitor, self.opened_at, "+".join(self.kinds))


def expected_incidents(monitors: list[SimulatedMonitor], predictions: list[Prediction]) -> list[Seen]:
    return [
        Seen(monitor.index, incident.opened_at, incident.kind, tuple(incident.kinds), incident.resolved_at)
        for monitor, prediction in zip(monitors, predictions, strict=True)
        for incident in prediction.incidents
    ]


def stored_incidents(indexes: dict[int, int]) -> list[Seen]:
    rows = Incident.objects.values_list("monitor_id", "opened_at", "kind", "kinds", "resolved_at")
    return [
        Seen(indexes[monitor_id], opened_at, kind, tuple(kinds), resolved_at)
        for monitor_id, opened_at, kind, kinds, resolved_at in rows
    ]


def expected_outbox(incidents: list[Seen], channels: list[str]) -> Counter[Key]:
    """One row per transition per channel: a problem for each incident, a recovery for each resolution."""
    rows: Counter[Key] = Counter()
    for incident, channel in itertools.product(incidents, channels):
        rows[(incident.monitor, incident.opened_at, f"problem to {channel}")] += 1
        if incident.resolved_at is not None:
            rows[(incident.monitor, incident.opened_at, f"recovered to {channel}")] += 1
    return rows


def stored_outbox(indexes: dict[int, int]) -> Counter[Key]:
    rows = Notification.objects.values_list(
        "incident__monitor_id", "incident__opened_at", "event", "channel__name"
    )
    return Counter(
        (indexes[monitor], opened, f"{event} to {channel}") for monitor, opened, event, channel in rows
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
    # Jumping days ahead is not an outage of ours: no deadline may get extra grace for it.
    settings.SWEEPER_OUTAGE_SECONDS = 10**9
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_incidents_match_the_oracle(
    client: Client, project: Project, traveller: time_machine.Traveller, seed: int
) -> None:
    end = START + timedelta(days=DAYS)
    for zone in DST_ZONES:
        offsets = {instant.astimezone(ZoneInfo(zone)).utcoffset() for instant in (START, end)}
        assert len(offsets) == 2, f"{zone} does not change its offset in the simulated window"
    monitors = simulate(seed, START, end)
    predictions = [predict(m.job, [request.ping for request in m.requests], until=end) for m in monitors]

    channels = [
        Channel.objects.create(project=project, kind="webhook", name=name, config={"url": "http://h.invalid"})
        for name in ("hook a", "hook b")
    ]
    indexes: dict[int, int] = {}
    urls: dict[int, str] = {}
    for monitor in monitors:
        created = monitor_create(project=project, slug=f"job-{monitor.index}", **monitor.fields)
        indexes[created.id] = monitor.index
        urls[monitor.index] = f"/ping/{created.ping_uuid}"
    requests = sorted((r for monitor in monitors for r in monitor.requests), key=lambda r: (r.at, r.monitor))
    assert drive(client, traveller, requests, urls, until=end) == len(requests)

    expected, actual = expected_incidents(monitors, predictions), stored_incidents(indexes)
    comparison = Comparison()
    comparison.incidents("opened incidents", Seen.opened, expected, actual)
    comparison.incidents("resolutions", Seen.resolved, expected, actual)
    comparison.incidents("incidents' kinds", Seen.all_kinds, expected, actual)
    outbox = expected_outbox(expected, [channel.name for channel in channels])
    comparison.counters("outbox rows", outbox, stored_outbox(indexes))
    assert not comparison.lines, comparison.report(monitors, expected, actual)

    # The simulation is only as good as what it provoked: every problem kind, many times over.
    outcomes = sum((prediction.outcomes for prediction in predictions), Counter[str]())
    opened = Counter(incident.kind for incident in expected)
    resolved = sum(1 for incident in expected if incident.resolved_at is not None)
    assert all(outcomes[kind] >= 15 and opened[kind] >= 5 for kind in PROBLEM_KINDS), (outcomes, opened)
    assert resolved >= 50, resolved
