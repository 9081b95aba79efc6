"""The in-process phases of bench/sweep.py: seeding, a sweep with nothing due, a burst of due monitors.

Import only after `django.setup()`.
"""

from __future__ import annotations

import math
import random
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from alerts.models import Channel, ChannelKind, DeliveryStatus, Incident, Notification, new_webhook_secret
from alerts.sweeper import sweep
from monitors.models import Monitor, MonitorStatus, Project

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
INSERT_BATCH = 5000
# Per-statement timings are taken in extra sweeps, so the wrapper's overhead stays out of the figures.
STATEMENT_SAMPLES = 200
# How long ago the burst's monitors were missed: they are due at once, as after a stalled sweeper.
MISSED_AGO = timedelta(seconds=30)


class BenchError(Exception):
    """The system did not behave as the benchmark assumes; the figures would be meaningless."""


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def statement_label(sql: str) -> str:
    """`SELECT monitors_monitor`: the verb and the first table, enough to tell statements apart."""
    verb = sql.split(None, 1)[0].upper() if sql.strip() else "?"
    table = re.search(r'\b(?:FROM|UPDATE|INTO)\s+"?(\w+)"?', sql, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else ''}".strip()


@dataclass
class StatementLog:
    """A `connection.execute_wrapper` keeping every statement, its parameters and its time."""

    statements: list[tuple[str, Any, float]] = field(default_factory=list)

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, params, time.perf_counter() - started))


# --- seeding -------------------------------------------------------------------------------


def project_with_channel(*, name: str, sink_url: str) -> tuple[Project, Channel]:
    project = Project.objects.create(name=name)
    channel = Channel.objects.create(
        project=project,
        kind=ChannelKind.WEBHOOK,
        name="bench sink",
        config={"url": sink_url},
        secret=new_webhook_secret(),
    )
    return project, channel


def link_channel(channel: Channel, monitor_ids: Sequence[int]) -> None:
    through = Channel.monitors.through
    through.objects.bulk_create(
        [through(channel_id=channel.id, monitor_id=monitor_id) for monitor_id in monitor_ids],
        batch_size=INSERT_BATCH,
    )


def seed_idle(*, project: Project, channel: Channel, count: int) -> float:
    """`count` daily monitors that last ran on time, deadlines spread over the next day; seconds taken.

    None is due within the first hour, so none comes due while the benchmark runs.
    """
    started = time.perf_counter()
    now = timezone.now()
    rng = random.Random(1)
    monitors = []
    for i in range(count):
        due = now + timedelta(seconds=rng.uniform(HOUR.total_seconds(), DAY.total_seconds()))
        finished = due - DAY
        monitors.append(
            Monitor(
                project=project,
                name=f"idle job {i}",
                slug=f"idle-{i}",
                interval_seconds=int(DAY.total_seconds()),
                grace_seconds=int(HOUR.total_seconds()),
                status=MonitorStatus.UP,
                created_at=now - 7 * DAY,
                window_start=finished,
                last_ping_at=finished,
                last_finish_at=finished,
                next_due_at=due,
                deadline=due,
            )
        )
    with transaction.atomic():
        Monitor.objects.bulk_create(monitors, batch_size=INSERT_BATCH)
        link_channel(channel, list(Monitor.objects.filter(project=project).values_list("id", flat=True)))
    with connection.cursor() as cursor:
        # Production tables have statistics; a freshly loaded one has none until autovacuum runs.
        cursor.execute(f"ANALYZE {Monitor._meta.db_table}")
    return time.perf_counter() - started


# --- a sweep with nothing due --------------------------------------------------------------


@dataclass
class IdleSweep:
    samples_ms: list[float]
    # (label, median ms) of each statement of one sweep, in order.
    statements: list[tuple[str, float]]
    due_sql: str
    plan: str
    index_used: bool
    # A bare `SELECT 1`: the floor any statement pays on this machine right now.
    round_trip_ms: float


def measure_idle_sweep(*, samples: int, warmup: int) -> IdleSweep:
    for _ in range(warmup):
        _expect_nothing_processed(sweep())
    samples_ms = []
    for _ in range(samples):
        started = time.perf_counter()
        processed = sweep()
        samples_ms.append((time.perf_counter() - started) * 1000)
        _expect_nothing_processed(processed)

    per_position: dict[tuple[int, str], list[float]] = defaultdict(list)
    log = StatementLog()
    for _ in range(min(samples, STATEMENT_SAMPLES)):
        log = StatementLog()
        with connection.execute_wrapper(log):
            _expect_nothing_processed(sweep())
        for position, (sql, _params, seconds) in enumerate(log.statements):
            per_position[(position, statement_label(sql))].append(seconds * 1000)
    statements = [(label, statistics.median(times)) for (_, label), times in sorted(per_position.items())]
    due_sql, due_params = _due_read(log)
    plan = explain(due_sql, due_params)
    round_trips = []
    with connection.cursor() as cursor:
        for _ in range(STATEMENT_SAMPLES):
            started = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            round_trips.append((time.perf_counter() - started) * 1000)
    return IdleSweep(
        samples_ms=samples_ms,
        statements=statements,
        due_sql=due_sql,
        plan=plan,
        index_used="monitor_deadline_due" in plan,
        round_trip_ms=statistics.median(round_trips),
    )


def _expect_nothing_processed(processed: int) -> None:
    if processed:
        raise BenchError(f"a sweep with nothing due processed {processed} monitor(s)")


def _due_read(log: StatementLog) -> tuple[str, Any]:
    """The sweep's own read of due monitors, exactly as it sent it."""
    table = Monitor._meta.db_table
    for sql, params, _seconds in log.statements:
        if statement_label(sql) == f"SELECT {table}":
            return sql, params
    raise BenchError(f"a sweep sent no SELECT on {table}")


def explain(sql: str, params: Any) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


# --- a burst of due monitors ---------------------------------------------------------------


@dataclass
class Burst:
    due: int
    processed: int
    # (monitors processed, ms) per sweep, the last one being the pass that found nothing.
    passes: list[tuple[int, float]]
    statements: int
    statement_counts: Counter[str]
    incidents: int
    notifications: int

    @property
    def busy_ms(self) -> float:
        """From the first sweep's start to the end of the last one that processed anything."""
        return sum(ms for processed, ms in self.passes if processed)

    @property
    def until_idle_ms(self) -> float:
        return sum(ms for _, ms in self.passes)


def make_due(*, project: Project, count: int) -> list[int]:
    """Pick `count` monitors and make them missed MISSED_AGO ago, as the sweeper would have left them.

    The sweeper already saw them late at their due time, so their deadline is due + grace, now past.
    """
    ids = list(Monitor.objects.filter(project=project).values_list("id", flat=True))
    chosen = random.Random(2).sample(ids, count)
    grace = HOUR
    due = timezone.now() - MISSED_AGO - grace
    updated = Monitor.objects.filter(id__in=chosen).update(
        status=MonitorStatus.LATE,
        window_start=due - DAY,
        last_ping_at=due - DAY,
        last_finish_at=due - DAY,
        next_due_at=due,
        grace_seconds=int(grace.total_seconds()),
        deadline=due + grace,
        revision=F("revision") + 1,
    )
    if updated != count:
        raise BenchError(f"made {updated} monitors due, wanted {count}")
    return chosen


def measure_burst(monitor_ids: list[int]) -> Burst:
    """Sweep until a pass processes nothing; then every monitor must have an incident and an outbox row."""
    counts: Counter[str] = Counter()

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        counts[sql] += 1
        return execute(sql, params, many, context)

    passes = []
    with connection.execute_wrapper(count):
        while True:
            started = time.perf_counter()
            processed = sweep()
            passes.append((processed, (time.perf_counter() - started) * 1000))
            if not processed:
                break
    labels: Counter[str] = Counter()
    for sql, times in counts.items():
        labels[statement_label(sql)] += times
    return Burst(
        due=len(monitor_ids),
        processed=sum(processed for processed, _ in passes),
        passes=passes,
        statements=sum(counts.values()),
        statement_counts=labels,
        incidents=Incident.objects.filter(monitor_id__in=monitor_ids, resolved_at__isnull=True).count(),
        notifications=Notification.objects.filter(incident__monitor_id__in=monitor_ids).count(),
    )


def settle_outbox() -> int:
    """Mark every pending outbox row delivered, so the end-to-end run starts with no backlog."""
    return Notification.objects.filter(status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.DELIVERED, next_attempt_at=None
    )
