"""Page benchmark: server time of the dashboard at 1,000 monitors, and of a monitor's page
with 100,000 runs.

    .venv/bin/python bench/pages.py                              # PostgreSQL (the target)
    .venv/bin/python bench/pages.py --database-url sqlite://     # embedded mode, for comparison
    .venv/bin/python bench/pages.py --profile                    # + where Django's time goes

1. A fresh database (PostgreSQL: dropped and re-created; dropped again on exit), `migrate`,
   one project with MONITORS monitors (every status, tags, interval and cron schedules) and
   RUNS runs each; one more monitor with a long history (HISTORY runs, every 5 minutes, with
   logs, metadata, failures and overlaps, and INCIDENTS incidents with their deliveries);
   ANALYZE.
2. A signed-in member's requests through Django's test client (the whole Django stack in this
   process: middleware, session, queries, template; no network), SAMPLES times each after a
   warm-up: wall-time median and p95, this process's CPU time, response size, queries:
   - the dashboard (GET /) and its poll (the htmx partial);
   - the long-history monitor's page, its two polls (status panel, history head) and a keyset
     page from the middle of its history.
   And the plans of the dashboard's run-strip query and of the monitor page's history page.
Goal: median <= 150 ms for the dashboard and the monitor page. Printed, never asserted (the
test suite holds no timed assertions).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vigil_bench_pages"
GOAL_MS = 150.0
BATCH = 5000
INCIDENTS = 40
LOG_LINE = "2026-03-01T03:00:00Z INFO copied a batch of rows from orders to the archive table\n"


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="postgres://…/NAME (NAME is dropped and re-created) or sqlite:// (a temporary file)",
    )
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=40, help="runs per monitor")
    parser.add_argument("--history", type=int, default=100_000, help="runs of the one long-history monitor")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="cProfile each page; print the top functions")
    parser.add_argument("--keep", action="store_true", help="keep the database and the temp dir")
    return parser.parse_args()


def _configure(args: argparse.Namespace, tmp: Path) -> str:
    """The app's environment for this run and a fresh database; answers the vendor."""
    from bench import pg_admin

    scheme = urlsplit(args.database_url).scheme
    os.environ.update(
        DJANGO_SETTINGS_MODULE="monitorsite.settings",
        DEBUG="false",
        SECRET_KEY="vigil-bench-not-a-secret",
        LOG_LEVEL="WARNING",
        VIGIL_VAR_DIR=str(tmp / "var"),
    )
    for name in ("DATABASE_URL", "REDIS_URL", "VIGIL_SQLITE_PATH"):
        os.environ.pop(name, None)
    if scheme == "sqlite":
        os.environ["VIGIL_SQLITE_PATH"] = str(tmp / "var" / "vigil-bench-pages.sqlite3")
        return "sqlite"
    if scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"error: unsupported --database-url scheme {scheme!r} (postgres://, sqlite://)")
    pg_admin.recreate(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    return "postgresql"


def _seed(monitors: int, runs: int, history: int) -> tuple[str, list[int], int]:
    """The project, its monitors and runs; answers the member's username, the dashboard's
    monitor ids and the long-history monitor's id."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.utils import timezone

    from monitors.models import Monitor, MonitorStatus, ScheduleKind
    from monitors.projects import project_create
    from pings.models import Run

    now = timezone.now()
    statuses = list(MonitorStatus.values)
    with transaction.atomic():
        user = User.objects.create_user(username="bench@example.com", email="bench@example.com", password="x")
        project = project_create(name="page benchmark", owner=user)
        cron = {
            "schedule_kind": ScheduleKind.CRON,
            "cron_expression": "0 3 * * *",
            "timezone": "Europe/Berlin",
        }
        Monitor.objects.bulk_create(
            [
                Monitor(
                    project=project,
                    name=f"Bench job {index} with a name of ordinary length",
                    slug=f"bench-{index}",
                    tags=["prod", f"team-{index % 7}"] if index % 3 else [],
                    status=statuses[index % len(statuses)],
                    window_start=now,
                    last_ping_at=now - timedelta(minutes=index % 90),
                    next_due_at=now + timedelta(minutes=index % 600),
                    last_duration_ms=1000 + index,
                    **(cron if index % 2 else {"interval_seconds": 300 * (1 + index % 12)}),
                )
                for index in range(monitors)
            ],
            batch_size=BATCH,
        )
        long_history = Monitor.objects.create(
            project=project,
            name="Long history",
            slug="long-history",
            status=MonitorStatus.DOWN,
            window_start=now,
            interval_seconds=300,
            last_ping_at=now,
            next_due_at=now + timedelta(minutes=5),
            last_duration_ms=31_000,
            description="Runs every five minutes, for a year.",
            runbook_url="https://wiki.example.com/runbooks/long-history",
        )
    ids = list(
        Monitor.objects.filter(project=project)
        .exclude(id=long_history.id)
        .order_by("id")
        .values_list("id", flat=True)
    )
    pending: list[Run] = []

    def add(run: Run) -> None:
        pending.append(run)
        if len(pending) >= BATCH:
            Run.objects.bulk_create(pending)
            pending.clear()

    for monitor_id in ids:
        for index in range(runs):
            started = now - timedelta(minutes=5 * (runs - index))
            failed = index % 11 == 0
            add(
                Run(
                    monitor_id=monitor_id,
                    status="failed" if failed else "success",
                    started_at=started,
                    finished_at=started + timedelta(seconds=30),
                    duration_ms=30_000,
                    exit_code=1 if failed else 0,
                    overlap=index % 37 == 0,
                )
            )
    for index in range(history):
        started = now - timedelta(minutes=5 * (history - index))
        failed = index % 23 == 0
        seconds = 20 + index % 17 + (40 if failed else 0)
        add(
            Run(
                monitor_id=long_history.id,
                status="failed" if failed else "success",
                started_at=started,
                finished_at=started + timedelta(seconds=seconds),
                duration_ms=seconds * 1000 + index % 997,
                exit_code=1 if failed else 0,
                overlap=index % 101 == 0,
                meta={"rows": 1000 + index % 5000, "shard": f"s{index % 8}"},
                log=LOG_LINE * (200 if failed else 3),
            )
        )
    Run.objects.bulk_create(pending)
    _incidents(long_history, now)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return user.username, ids, long_history.id


def _incidents(monitor: Any, now: Any) -> None:
    """INCIDENTS incidents over the last weeks, each delivered to two channels after a retry."""
    from alerts.models import Channel, DeliveryAttempt, Incident, Notification

    hook = Channel.objects.create(
        project=monitor.project, kind="webhook", name="hook", config={"url": "https://x"}
    )
    mail = Channel.objects.create(
        project=monitor.project, kind="email", name="mail", config={"to": ["a@b.c"]}
    )
    for index in range(INCIDENTS):
        opened = now - timedelta(hours=12 * (INCIDENTS - index))
        incident = Incident.objects.create(
            monitor=monitor,
            kind="failed",
            kinds=["failed"],
            detail="exit status 1",
            opened_at=opened,
            resolved_at=None if index == INCIDENTS - 1 else opened + timedelta(minutes=10),
            log=[{"at": opened.isoformat(), "message": "opened: exit status 1"}],
        )
        for channel in (hook, mail):
            notification = Notification.objects.create(
                incident=incident, channel=channel, event="problem", status="delivered", created_at=opened
            )
            DeliveryAttempt.objects.bulk_create(
                [
                    DeliveryAttempt(notification=notification, at=opened, status_code=503, error="HTTP 503"),
                    DeliveryAttempt(
                        notification=notification, at=opened + timedelta(seconds=30), status_code=200
                    ),
                ]
            )


def _plan(vendor: str, read: Callable[[], object]) -> str:
    """The plan of the first query `read` makes."""
    from django.db import connection

    captured: list[tuple[str, Any]] = []

    def capture(execute: Callable[..., Any], sql: str, params: object, many: bool, context: Any) -> Any:
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        read()
    sql, params = captured[0]
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        return "\n".join(" | ".join(str(cell) for cell in row) for row in cursor.fetchall())


@dataclass
class Figures:
    median: float
    p95: float
    cpu: float
    size: int
    queries: int


def _measure(client: Any, path: str, samples: int, profile: bool, **headers: str) -> Figures:
    """The page's figures over `samples` requests, after a warm-up; with `profile`, where the
    time goes (cProfile's view of this process only: the database's own time is not in it)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        assert client.get(path, **headers).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **headers)
    # Counted now: the captured list is read from the connection's log, which the next request clears.
    queries = len(captured)
    if profile:
        print(f"\n{path}: its queries, slowest first (seconds, SQL)")
        for query in sorted(captured.captured_queries, key=lambda query: -float(query["time"]))[:8]:
            print(f"  {query['time']}  {query['sql'][:160]}")
    wall, cpu = [], []
    profiler = cProfile.Profile() if profile else None
    for _ in range(samples):
        start, start_cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        client.get(path, **headers)
        if profiler:
            profiler.disable()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    if profiler:
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
        print(stream.getvalue())
    wall.sort()
    return Figures(
        median=statistics.median(wall),
        p95=wall[min(len(wall) - 1, round(0.95 * (len(wall) - 1)))],
        cpu=statistics.median(cpu),
        size=len(response.content),
        queries=queries,
    )


def _print(label: str, figures: Figures, goal: bool = False) -> None:
    verdict = f"  goal <= {GOAL_MS:.0f} ms: {'pass' if figures.median <= GOAL_MS else 'MISS'}" if goal else ""
    print(
        f"{label:<34} median {figures.median:7.1f} ms  p95 {figures.p95:7.1f} ms  CPU {figures.cpu:6.1f} ms"
        f"  {figures.size / 1024:6.0f} KiB  {figures.queries:2d} queries{verdict}"
    )


def main() -> None:
    args = _parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-pages-"))
    sys.path.insert(0, str(ROOT))
    vendor = _configure(args, tmp)
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client
        from django.test.utils import setup_test_environment

        from monitors.models import Monitor
        from pings.models import Run
        from pings.selectors import recent_outcomes, run_history

        setup_test_environment()
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        username, ids, long_id = _seed(args.monitors, args.runs, args.history)
        runs_total = args.monitors * args.runs + args.history
        print(
            f"seeded {args.monitors:,} monitors, {runs_total:,} runs in {time.perf_counter() - started:.1f} s"
        )

        client = Client()
        client.force_login(client_user(username))
        assert client.get("/").content.count(b'<tr id="monitor-') == args.monitors + 1
        htmx = {"HTTP_HX_REQUEST": "true"}
        page = f"/monitors/{long_id}/"
        middle = (
            Run.objects.filter(monitor_id=long_id)
            .order_by("id")
            .values_list("id", flat=True)[args.history // 2]
        )
        print(f"\n== {vendor}; test client, whole Django stack, no network; {args.samples} samples each")
        print(f"dashboard: {args.monitors + 1:,} monitors, {args.runs} runs each (one with {args.history:,})")
        _print("GET /", _measure(client, "/", args.samples, args.profile), goal=True)
        _print("GET / (poll)", _measure(client, "/", args.samples, False, **htmx))
        print(f"monitor page: {args.history:,} runs, {INCIDENTS} incidents with deliveries")
        _print(f"GET {page}", _measure(client, page, args.samples, args.profile), goal=True)
        _print(
            "  status poll",
            _measure(client, page, args.samples, False, HTTP_HX_TARGET="monitor-live", **htmx),
        )
        _print(
            "  history poll", _measure(client, page, args.samples, False, HTTP_HX_TARGET="history", **htmx)
        )
        _print(
            "  history page from the middle",
            _measure(
                client, f"{page}?before={middle}", args.samples, False, HTTP_HX_TARGET="history", **htmx
            ),
        )
        _print(
            "  failed runs from the middle",
            _measure(
                client,
                f"{page}?status=failed&before={middle}",
                args.samples,
                False,
                HTTP_HX_TARGET="history",
                **htmx,
            ),
        )
        print("\nrun strip query plan (dashboard):")
        for line in _plan(vendor, lambda: recent_outcomes(monitor_ids=ids)).splitlines():
            print(f"  {line}")
        print("\nhistory page query plan (monitor page, from the middle):")
        monitor = Monitor.objects.get(id=long_id)
        for line in _plan(vendor, lambda: run_history(monitor=monitor, before=middle)).splitlines():
            print(f"  {line}")
    finally:
        from django.db import connections

        from bench import pg_admin

        connections.close_all()
        if not args.keep:
            if vendor == "postgresql":
                pg_admin.drop(args.database_url)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


def client_user(username: str) -> User:
    from django.contrib.auth.models import User

    return User.objects.get(username=username)


if __name__ == "__main__":
    main()
