"""Sweeper benchmark: a sweep with nothing due, a burst of due monitors, end-to-end detection latency.

    .venv/bin/python bench/sweep.py                     # PostgreSQL + Redis (the target)
    .venv/bin/python bench/sweep.py --database-url sqlite://   # embedded mode, for comparison

1. A fresh database (PostgreSQL: dropped and re-created; dropped again on exit), `migrate`,
   100,000 daily monitors whose deadlines are spread over the next day, each with a webhook
   channel pointing at a loopback sink in this process.
2. No-due sweep: `alerts.sweeper.sweep()` in-process, SAMPLES times after a warm-up: median
   and p95; the statements one sweep sends, and EXPLAIN ANALYZE of its read of due monitors.
3. Burst: 1,000 of them missed 30 s ago at once; sweeps until one processes nothing. Every
   monitor must then have an open incident and an outbox row.
4. End-to-end: the Celery workers and beat of `manage.py runall` (its commands, real
   processes); 200 late monitors whose deadlines fall evenly over the next SPREAD seconds. For
   each, deadline -> its outbox row (created_at, and first seen by a 20 ms poll) and deadline
   -> the webhook received at a loopback sink in this process.
5. Burst end-to-end: the same processes, 1,000 monitors whose deadlines are the same instant:
   deadline -> the last webhook received, and the sink's arrival rate (deliveries/s).
Reference, measured in the same run: sequential POSTs from this process to the same sink
(its round trip and rate: what a delivery cannot beat).
Targets: no-due sweep median <= 5 ms (PostgreSQL); deadline -> webhook p99 <= 1 s on
PostgreSQL + Redis, <= 2 s embedded (SQLite); 1,000 at once all received within 10 s
(PostgreSQL + Redis); deliveries >= 50/s. `make bench-sweep` runs both modes.
Exits 1 when a correctness check fails; a missed target is reported, and fatal with --strict.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bench.sweep_e2e import EndToEnd, LoopbackReference
    from bench.sweep_phases import Burst, IdleSweep

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vigil_bench_sweep"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
IDLE_TARGET_MS = 5.0
# deadline -> webhook received, p99, by mode.
WEBHOOK_P99_TARGET_SECONDS = {"postgresql": 1.0, "sqlite": 2.0}
BURST_ALL_TARGET_SECONDS = 10.0
DELIVERIES_PER_SECOND_TARGET = 50.0
WARMUP_SWEEPS = 20
E2E_LEAD_SECONDS = 3.0


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="postgres://…/NAME (NAME is dropped and re-created) or sqlite:// (a temporary file)",
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="the broker with PostgreSQL")
    parser.add_argument("--monitors", type=int, default=100_000, help="monitors with nothing due")
    parser.add_argument("--samples", type=int, default=500, help="timed no-due sweeps")
    parser.add_argument("--due", type=int, default=1000, help="monitors missed at once")
    parser.add_argument("--e2e", type=int, default=200, help="monitors in the end-to-end run")
    parser.add_argument("--spread", type=float, default=10.0, help="seconds their deadlines spread over")
    parser.add_argument(
        "--burst-e2e", type=int, default=1000, help="monitors with one deadline in the burst end-to-end run"
    )
    parser.add_argument(
        "--sink-delay", type=float, default=0.0, help="seconds the webhook sink takes to answer each POST"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the temp dir")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    if args.due > args.monitors:
        parser.error("--due cannot exceed --monitors")
    return args


# --- environment and database ---------------------------------------------------------------


def _vendor(database_url: str) -> str:
    scheme = urlsplit(database_url).scheme
    if scheme == "sqlite":
        return "sqlite"
    if scheme in {"postgres", "postgresql"}:
        return "postgresql"
    raise SystemExit(f"error: unsupported --database-url scheme {scheme!r} (postgres://, sqlite://)")


def _configure(args: argparse.Namespace, tmp: Path, vendor: str) -> None:
    """The app's environment for this run, inherited by worker and beat; a fresh database."""
    from bench import pg_admin

    os.environ.update(
        DJANGO_SETTINGS_MODULE="monitorsite.settings",
        DEBUG="false",
        SECRET_KEY="vigil-bench-not-a-secret",
        LOG_LEVEL="WARNING",
        VIGIL_VAR_DIR=str(tmp / "var"),
        # The sink is on loopback; nothing else is ever sent anywhere.
        WEBHOOKS_ALLOW_PRIVATE_IPS="true",
    )
    for name in ("DATABASE_URL", "REDIS_URL", "VIGIL_SQLITE_PATH"):
        os.environ.pop(name, None)
    if vendor == "sqlite":
        os.environ["VIGIL_SQLITE_PATH"] = str(tmp / "var" / "vigil-bench-sweep.sqlite3")
        return
    pg_admin.recreate(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["REDIS_URL"] = args.redis_url


def _other_redis_clients(redis_url: str) -> int:
    """Clients on our Redis database besides us: another worker there would take our sweeps."""
    import redis

    client = redis.Redis.from_url(redis_url)
    db = int(client.connection_pool.connection_kwargs.get("db", 0))
    me = client.client_id()
    return sum(1 for c in client.client_list() if int(c["db"]) == db and int(c["id"]) != me)


def _server_description(vendor: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if vendor == "postgresql":
            facts = []
            for setting in ("server_version", "fsync", "synchronous_commit", "shared_buffers"):
                cursor.execute(f"SHOW {setting}")
                facts.append(f"{setting}={cursor.fetchone()[0]}")
            return "PostgreSQL (" + ", ".join(facts) + ")"
        cursor.execute("SELECT sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]} (WAL, synchronous=FULL, filesystem broker)"


# --- reporting ------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


def _s(value: float) -> str:
    return f"{value:.3f} s"


def _verdict(value: float, target: float) -> str:
    return "pass" if value <= target else "MISS"


def _report_idle(idle: IdleSweep, monitors: int) -> None:
    from bench.sweep_phases import percentile

    samples = idle.samples_ms
    print(f"\n== no-due sweep: {len(samples)} sweeps in-process, {monitors:,} monitors, none due")
    print(
        f"median {_ms(statistics.median(samples))}  p95 {_ms(percentile(samples, 95))}  "
        f"p99 {_ms(percentile(samples, 99))}  min {_ms(min(samples))}  max {_ms(max(samples))}"
    )
    print(f"statements per sweep: {len(idle.statements)} (median time each, timed in separate sweeps)")
    for position, (label, median_ms) in enumerate(idle.statements, 1):
        print(f"  {position}. {label:<40} {_ms(median_ms)}")
    print(f"  (a bare SELECT 1 round trip: {_ms(idle.round_trip_ms)})")
    print("its read of due monitors, as sent:")
    print(f"  {idle.due_sql}")
    print("its plan (PostgreSQL: EXPLAIN ANALYZE, BUFFERS; SQLite: EXPLAIN QUERY PLAN):")
    for line in idle.plan.splitlines():
        print(f"  {line}")
    print(f"partial index monitor_deadline_due used: {'yes' if idle.index_used else 'NO'}")


def _report_burst(burst: Burst) -> list[str]:
    print(f"\n== burst: {burst.due:,} monitors missed at once (in-process sweeps until one finds nothing)")
    passes = ", ".join(f"{processed} in {ms:.0f} ms" for processed, ms in burst.passes)
    print(f"passes: {passes}")
    per_monitor = burst.busy_ms / max(burst.processed, 1)
    print(
        f"all {burst.processed:,} processed in {burst.busy_ms:.0f} ms ({per_monitor:.2f} ms per monitor, "
        f"{1000 / per_monitor if per_monitor else 0:.0f} monitors/s); until idle {burst.until_idle_ms:.0f} ms"
    )
    print(f"statements: {burst.statements:,} ({burst.statements / max(burst.processed, 1):.1f} per monitor):")
    for label, count in burst.statement_counts.most_common():
        print(f"  {count / max(burst.processed, 1):6.2f} x {label}")
    failures = []
    if burst.processed != burst.due:
        failures.append(f"burst: processed {burst.processed}, expected {burst.due}")
    if burst.incidents != burst.due or burst.notifications != burst.due:
        failures.append(
            f"burst: {burst.incidents} open incidents and {burst.notifications} outbox rows for {burst.due}"
        )
    print(
        f"open incidents {burst.incidents:,}, outbox rows {burst.notifications:,} "
        f"-> {'OK' if not failures else 'MISMATCH'}"
    )
    return failures


def _report_e2e(e2e: EndToEnd, *, sink_delay: float) -> list[str]:
    from alerts.outages import HEARTBEAT_EVERY
    from bench.sweep_e2e import LOG_MARKERS
    from bench.sweep_phases import percentile

    print(
        f"\n== end-to-end: celery worker (--concurrency 2) + beat, {e2e.monitors} monitors, "
        f"deadlines spread over {e2e.spread_seconds:g} s"
        + (f", the sink answering each POST after {sink_delay:g} s" if sink_delay else "")
    )
    print(f"worker and beat sweeping {e2e.ready_seconds:.1f} s after start")
    gaps = [(b - a).total_seconds() for a, b in pairwise(e2e.sweep_starts)]
    if gaps:
        print(
            f"heartbeat writes seen while watching: {len(e2e.sweep_starts)}; interval median "
            f"{statistics.median(gaps):.3f} s, p99 {percentile(gaps, 99):.3f} s, max {max(gaps):.3f} s "
            f"(beat sends a sweep every 1 s; a sweep rewrites the heartbeat every "
            f"{HEARTBEAT_EVERY.total_seconds():g} s)"
        )
    failures = []
    if e2e.seeded_late:
        failures.append(f"e2e: {e2e.seeded_late} deadlines passed before their monitors were committed")
    missing = e2e.monitors - len(e2e.detections)
    if missing:
        failures.append(f"e2e: {missing} monitors got no outbox row in time")
    print(f"{'deadline ->':<44} {'p50':>8} {'p99':>8} {'max':>8} {'min':>8}")
    series = [
        ("outbox row created_at (sweep's clock)", e2e.stored_seconds()),
        ("outbox row first seen (20 ms poll)", e2e.seen_seconds()),
        ("webhook received at the sink", e2e.delivered_seconds()),
    ]
    for label, values in series:
        if values:
            print(
                f"{label:<44} {percentile(values, 50):7.3f}s {percentile(values, 99):7.3f}s "
                f"{max(values):7.3f}s {min(values):7.3f}s"
            )
    if any(value < 0 for value in e2e.stored_seconds()):
        failures.append("e2e: a miss was detected before its deadline")
    undelivered = len(e2e.detections) - len(e2e.deliveries)
    print(
        f"outbox rows {len(e2e.detections)}/{e2e.monitors}, delivered to the sink "
        f"{len(e2e.deliveries)}/{len(e2e.detections)}; exit codes {e2e.exit_codes}"
    )
    if undelivered:
        print(f"note: {undelivered} outbox rows were not delivered within the wait")
    print(f"worker/beat log lines with {', '.join(LOG_MARKERS)}: {len(e2e.log_problems)}")
    for line in e2e.log_problems[:10]:
        print(f"  {line}")
    return failures


@dataclass(frozen=True)
class Row:
    name: str
    figure: float | None
    unit: str
    shown: str
    target: str = ""
    reference: str = ""
    # (value, limit, higher is better) when the row is judged.
    judged: tuple[float, float, bool] | None = None

    def verdict(self) -> str:
        if self.judged is None:
            return ""
        value, limit, higher = self.judged
        return "pass" if (value >= limit if higher else value <= limit) else "MISS"


def _summary(
    *,
    vendor: str,
    monitors: int,
    idle: IdleSweep,
    burst: Burst,
    e2e: EndToEnd,
    burst_e2e: EndToEnd,
    reference: LoopbackReference,
    failures: list[str],
) -> bool:
    """Prints the table and a BENCH-ROW line per figure; True when every target is met."""
    from bench.rows import bench_row
    from bench.sweep_phases import percentile

    mode = "PostgreSQL + Redis" if vendor == "postgresql" else "embedded (SQLite)"
    idle_median = statistics.median(idle.samples_ms)
    seen = e2e.seen_seconds()
    delivered = e2e.delivered_seconds()
    burst_delivered = burst_e2e.delivered_seconds()
    webhook_p99 = percentile(delivered, 99) if delivered else float("inf")
    all_received = max(burst_delivered) if len(burst_delivered) == burst_e2e.monitors else float("inf")
    rate = burst_e2e.delivery_rate()
    webhook_target = WEBHOOK_P99_TARGET_SECONDS[vendor]
    round_trip = f"loopback POST round trip {reference.median_ms:.1f} ms"
    rows = [
        Row(
            f"{mode}: no-due sweep, {monitors:,} monitors, median",
            idle_median,
            "ms",
            _ms(idle_median),
            f"<= {IDLE_TARGET_MS:g} ms" if vendor == "postgresql" else "",
            f"SELECT 1 round trip {idle.round_trip_ms:.2f} ms",
            (idle_median, IDLE_TARGET_MS, False) if vendor == "postgresql" else None,
        ),
        Row(
            f"{mode}: {burst.due:,} due at once, detected in-process",
            burst.busy_ms,
            "ms",
            f"{burst.busy_ms:.0f} ms",
        ),
        Row(
            f"{mode}: deadline -> outbox row seen, {e2e.monitors} spread, p99",
            percentile(seen, 99) if seen else None,
            "s",
            _s(percentile(seen, 99)) if seen else "-",
        ),
        Row(
            f"{mode}: deadline -> webhook received, {e2e.monitors} spread, p50",
            percentile(delivered, 50) if delivered else None,
            "s",
            _s(percentile(delivered, 50)) if delivered else "-",
            reference=round_trip,
        ),
        Row(
            f"{mode}: deadline -> webhook received, {e2e.monitors} spread, p99",
            webhook_p99 if delivered else None,
            "s",
            _s(webhook_p99) if delivered else "-",
            f"<= {webhook_target:g} s",
            round_trip,
            (webhook_p99, webhook_target, False),
        ),
        Row(
            f"{mode}: {burst_e2e.monitors:,} deadlines at once -> last webhook received",
            all_received if burst_delivered else None,
            "s",
            _s(all_received) if burst_delivered else "-",
            f"<= {BURST_ALL_TARGET_SECONDS:g} s" if vendor == "postgresql" else "",
            f"detected in-process in {burst.busy_ms / 1000:.2f} s",
            (all_received, BURST_ALL_TARGET_SECONDS, False) if vendor == "postgresql" else None,
        ),
        Row(
            f"{mode}: deliveries received per second (burst)",
            rate,
            "1/s",
            f"{rate:.0f}/s",
            f">= {DELIVERIES_PER_SECOND_TARGET:g}/s",
            f"sequential POSTs from one thread {reference.per_second:.0f}/s",
            (rate, DELIVERIES_PER_SECOND_TARGET, True),
        ),
    ]
    met = True
    print(f"\n== summary ({mode}, {os.cpu_count()} cores, load average at end {_loadavg()})")
    print(f"{'measure':<72} {'figure':>12}  {'target':<9} {'verdict':<7} reference (same run)")
    for row in rows:
        verdict = row.verdict()
        met = met and verdict != "MISS"
        print(f"{row.name:<72} {row.shown:>12}  {row.target:<9} {verdict:<7} {row.reference}")
    print(f"correctness checks: {'all OK' if not failures else 'FAILED'}")
    for failure in failures:
        print(f"  {failure}")
    for row in rows:
        figure = None if row.figure is None or row.figure == float("inf") else round(row.figure, 4)
        bench_row(row.name, figure, row.unit, target=row.target, reference=row.reference)
    return met


def _loadavg() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# --- the run --------------------------------------------------------------------------------


def _run(args: argparse.Namespace, tmp: Path, vendor: str) -> int:
    import django

    django.setup()

    from django.core.management import call_command

    from bench import sweep_e2e, sweep_phases

    print(
        f"sweeper benchmark: {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, {os.cpu_count()} cores "
        f"(shared: figures are noisy), load average {_loadavg()}"
    )
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"backend: {_server_description(vendor)}; migrated in {time.perf_counter() - started:.1f} s")
    if vendor == "postgresql":
        others = _other_redis_clients(args.redis_url)
        print(f"broker: {args.redis_url} ({others} other client(s) on this Redis database)")
        if others:
            print("warning: another worker on this Redis database would take some of our sweeps")

    sink = sweep_e2e.WebhookSink(delay_seconds=args.sink_delay)
    try:
        project, channel = sweep_phases.project_with_channel(name="sweep benchmark", sink_url=sink.url)
        seconds = sweep_phases.seed_idle(project=project, channel=channel, count=args.monitors)
        print(f"seeded {args.monitors:,} monitors (each with a webhook channel) in {seconds:.1f} s")

        idle = sweep_phases.measure_idle_sweep(samples=args.samples, warmup=WARMUP_SWEEPS)
        _report_idle(idle, args.monitors)

        due_ids = sweep_phases.make_due(project=project, count=args.due)
        burst = sweep_phases.measure_burst(due_ids)
        failures = _report_burst(burst)
        settled = sweep_phases.settle_outbox()
        print(f"(marked the burst's {settled:,} outbox rows delivered: no backlog for the next phase)")

        e2e_project, e2e_channel = sweep_phases.project_with_channel(name="sweep e2e", sink_url=sink.url)
        e2e = sweep_e2e.run_end_to_end(
            project=e2e_project,
            channel=e2e_channel,
            sink=sink,
            count=args.e2e,
            lead_seconds=E2E_LEAD_SECONDS,
            spread_seconds=args.spread,
            log_dir=tmp,
        )
        failures += _report_e2e(e2e, sink_delay=args.sink_delay)

        burst_project, burst_channel = sweep_phases.project_with_channel(name="burst e2e", sink_url=sink.url)
        burst_e2e = sweep_e2e.run_end_to_end(
            project=burst_project,
            channel=burst_channel,
            sink=sink,
            count=args.burst_e2e,
            lead_seconds=E2E_LEAD_SECONDS,
            spread_seconds=0.0,
            log_dir=tmp,
        )
        failures += _report_e2e(burst_e2e, sink_delay=args.sink_delay)
        reference = sweep_e2e.loopback_reference(sink)
    except sweep_phases.BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        sink.close()
    met = _summary(
        vendor=vendor,
        monitors=args.monitors,
        idle=idle,
        burst=burst,
        e2e=e2e,
        burst_e2e=burst_e2e,
        reference=reference,
        failures=failures,
    )
    if failures:
        return 1
    return 1 if args.strict and not met else 0


def _cleanup(args: argparse.Namespace, tmp: Path, vendor: str) -> None:
    from bench import pg_admin

    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()
    database = pg_admin.database_name(args.database_url) if vendor == "postgresql" else ""
    if args.keep:
        print(f"kept: {tmp}" + (f" and database {database}" if database else ""))
        return
    if database:
        pg_admin.drop(args.database_url)
    shutil.rmtree(tmp, ignore_errors=True)


def _terminated(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def main() -> int:
    args = _parse_args()
    sys.path.insert(0, str(ROOT))
    from bench import pg_admin

    # SIGTERM unwinds like Ctrl-C, so worker and beat are stopped and the database dropped.
    signal.signal(signal.SIGTERM, _terminated)
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-sweep."))
    vendor = _vendor(args.database_url)
    if vendor == "postgresql":
        pg_admin.database_name(args.database_url)
    try:
        _configure(args, tmp, vendor)
        return _run(args, tmp, vendor)
    finally:
        _cleanup(args, tmp, vendor)


if __name__ == "__main__":
    sys.exit(main())
