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
4. End-to-end: a real Celery worker and beat (the commands of `manage.py runall`); 200 late
   monitors whose deadlines fall evenly over the next SPREAD seconds. For each, deadline ->
   its outbox row: the row's created_at (the detecting sweep's clock) and the moment a 20 ms
   poll first saw it committed; and deadline -> the POST at the sink (not a target).
Targets (PostgreSQL): no-due sweep median <= 5 ms; deadline -> outbox row p99 <= 2 s (seen).
Exits 1 when a correctness check fails; a missed target is reported, and fatal with --strict.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bench.sweep_e2e import EndToEnd
    from bench.sweep_phases import Burst, IdleSweep

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vigil_bench_sweep"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
IDLE_TARGET_MS = 5.0
E2E_P99_TARGET_SECONDS = 2.0
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
        "--sink-delay", type=float, default=0.0, help="seconds the webhook sink takes to answer each POST"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the temp dir")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    if args.due > args.monitors:
        parser.error("--due cannot exceed --monitors")
    return args


# --- environment and database ---------------------------------------------------------------


def _pg_admin(database_url: str, statement: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(statement.encode())


def _pg_database(database_url: str) -> str:
    name = urlsplit(database_url).path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"error: the database name must be a plain identifier, got {name!r}")
    return name


def _vendor(database_url: str) -> str:
    scheme = urlsplit(database_url).scheme
    if scheme == "sqlite":
        return "sqlite"
    if scheme in {"postgres", "postgresql"}:
        return "postgresql"
    raise SystemExit(f"error: unsupported --database-url scheme {scheme!r} (postgres://, sqlite://)")


def _configure(args: argparse.Namespace, tmp: Path, vendor: str) -> None:
    """The app's environment for this run, inherited by worker and beat; a fresh database."""
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
    name = _pg_database(args.database_url)
    _pg_admin(args.database_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg_admin(args.database_url, f"CREATE DATABASE {name}")
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


def _summary(
    *, vendor: str, monitors: int, idle: IdleSweep, burst: Burst, e2e: EndToEnd, failures: list[str]
) -> bool:
    """Prints the table; True when every target is met."""
    from bench.sweep_phases import percentile

    idle_median = statistics.median(idle.samples_ms)
    seen = e2e.seen_seconds()
    stored = e2e.stored_seconds()
    seen_p99 = percentile(seen, 99) if seen else float("inf")
    # (measure, figure, target words, value and target to judge, or None)
    rows: list[tuple[str, str, str, tuple[float, float] | None]] = [
        (
            f"no-due sweep, {monitors:,} monitors: median",
            _ms(idle_median),
            "<= 5 ms",
            (idle_median, IDLE_TARGET_MS),
        ),
        ("no-due sweep: p95", _ms(percentile(idle.samples_ms, 95)), "", None),
        (
            f"{burst.due:,} due at once: all processed",
            f"{burst.busy_ms:.0f} ms, {len(burst.passes) - 1} sweep(s)",
            "",
            None,
        ),
        (
            f"deadline -> outbox row, {e2e.monitors} monitors: p50 (seen)",
            _s(percentile(seen, 50)) if seen else "-",
            "",
            None,
        ),
        ("deadline -> outbox row: p99 (seen)", _s(seen_p99), "<= 2 s", (seen_p99, E2E_P99_TARGET_SECONDS)),
        (
            "deadline -> outbox row: p50 / p99 (created_at)",
            f"{percentile(stored, 50):.3f} / {percentile(stored, 99):.3f} s" if stored else "-",
            "",
            None,
        ),
    ]
    met = True
    print(f"\n== summary ({vendor}, {os.cpu_count()} cores, load average at end {_loadavg()})")
    print(f"{'measure':<56} {'figure':>22}  {'target':<8} verdict")
    for label, figure, target_words, judged in rows:
        verdict = ""
        if judged is not None:
            verdict = _verdict(*judged)
            met = met and verdict == "pass"
            if vendor != "postgresql":
                verdict += " (the target is for PostgreSQL)"
        print(f"{label:<56} {figure:>22}  {target_words:<8} {verdict}")
    print(f"correctness checks: {'all OK' if not failures else 'FAILED'}")
    for failure in failures:
        print(f"  {failure}")
    return met


def _loadavg() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# --- the run --------------------------------------------------------------------------------


def _run(args: argparse.Namespace, tmp: Path, vendor: str) -> int:
    import django

    sys.path.insert(0, str(ROOT))
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
    except sweep_phases.BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        sink.close()
    met = _summary(vendor=vendor, monitors=args.monitors, idle=idle, burst=burst, e2e=e2e, failures=failures)
    if failures:
        return 1
    return 1 if args.strict and not met else 0


def _cleanup(args: argparse.Namespace, tmp: Path, vendor: str) -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()
    database = _pg_database(args.database_url) if vendor == "postgresql" else ""
    if args.keep:
        print(f"kept: {tmp}" + (f" and database {database}" if database else ""))
        return
    if database:
        _pg_admin(args.database_url, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    shutil.rmtree(tmp, ignore_errors=True)


def _terminated(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def main() -> int:
    args = _parse_args()
    # SIGTERM unwinds like Ctrl-C, so worker and beat are stopped and the database dropped.
    signal.signal(signal.SIGTERM, _terminated)
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-sweep."))
    vendor = _vendor(args.database_url)
    if vendor == "postgresql":
        _pg_database(args.database_url)
    try:
        _configure(args, tmp, vendor)
        return _run(args, tmp, vendor)
    finally:
        _cleanup(args, tmp, vendor)


if __name__ == "__main__":
    sys.exit(main())
