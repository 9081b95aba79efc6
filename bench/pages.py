"""Page benchmark: server time of the dashboard at 1,000 monitors with their runs.

    .venv/bin/python bench/pages.py                              # PostgreSQL (the target)
    .venv/bin/python bench/pages.py --database-url sqlite://     # embedded mode, for comparison

1. A fresh database (PostgreSQL: dropped and re-created; dropped again on exit), `migrate`,
   one project with MONITORS monitors (every status, tags, interval and cron schedules), RUNS
   runs each, and one of them with a long history (HISTORY runs): the run strip must not
   read history it does not show.
2. A signed-in member's GET / through Django's test client (the whole Django stack in this
   process: middleware, session, queries, template; no network), SAMPLES times after a
   warm-up: wall-time median and p95, this process's CPU time, response size, queries per
   page; and the plan of the run-strip query for all monitors.
Goal: median <= 150 ms. Printed, never asserted (the test suite holds no timed assertions).
The monitor page's half of this benchmark (100,000 runs) comes with that page.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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
    parser.add_argument("--keep", action="store_true", help="keep the database and the temp dir")
    return parser.parse_args()


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


def _configure(args: argparse.Namespace, tmp: Path) -> str:
    """The app's environment for this run and a fresh database; answers the vendor."""
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
    name = _pg_database(args.database_url)
    _pg_admin(args.database_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg_admin(args.database_url, f"CREATE DATABASE {name}")
    os.environ["DATABASE_URL"] = args.database_url
    return "postgresql"


def _seed(monitors: int, runs: int, history: int) -> tuple[str, list[int]]:
    """The project, its monitors and runs; answers the member's username and the monitor ids."""
    from django.contrib.auth.models import User
    from django.db import transaction
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
    ids = list(Monitor.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    plan = [(monitor_id, runs) for monitor_id in ids] + [(ids[0], history)]
    pending: list[Run] = []
    for monitor_id, count in plan:
        for index in range(count):
            started = now - timedelta(minutes=5 * (count - index))
            failed = index % 11 == 0
            pending.append(
                Run(
                    monitor_id=monitor_id,
                    status="failed" if failed else "success",
                    started_at=started,
                    finished_at=started + timedelta(seconds=30),
                    duration_ms=30_000,
                    exit_code=1 if failed else 0,
                    overlap=index % 37 == 0,
                    evaluated=True,
                )
            )
            if len(pending) >= BATCH:
                Run.objects.bulk_create(pending)
                pending.clear()
    Run.objects.bulk_create(pending)
    return user.username, ids


def _plan(vendor: str, ids: list[int]) -> str:
    """The run strip's query plan for every monitor on the page."""
    from django.db import connection

    from pings.selectors import recent_outcomes

    captured: list[tuple[str, Any]] = []

    def capture(execute: Callable[..., Any], sql: str, params: object, many: bool, context: Any) -> Any:
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        recent_outcomes(monitor_ids=ids)
    sql, params = captured[0]
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        return "\n".join(" | ".join(str(cell) for cell in row) for row in cursor.fetchall())


def main() -> None:
    args = _parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-pages-"))
    vendor = _configure(args, tmp)
    sys.path.insert(0, str(ROOT))
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext, setup_test_environment

        setup_test_environment()
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        username, ids = _seed(args.monitors, args.runs, args.history)
        runs_total = args.monitors * args.runs + args.history
        print(
            f"seeded {args.monitors:,} monitors, {runs_total:,} runs in {time.perf_counter() - started:.1f} s"
        )

        client = Client()
        client.force_login(client_user(username))
        for _ in range(3):
            assert client.get("/").status_code == 200
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/")
        query_count = len(queries)
        assert response.status_code == 200
        rows = response.content.count(b'<tr id="monitor-')
        assert rows == args.monitors, f"the page shows {rows} rows, expected {args.monitors}"

        samples, cpu = [], []
        for _ in range(args.samples):
            start, start_cpu = time.perf_counter(), time.process_time()
            client.get("/")
            samples.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        samples.sort()
        median = statistics.median(samples)
        p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
        print(f"\n== dashboard (GET /), {vendor}, {args.monitors:,} monitors, {args.runs} runs each")
        print(f"+ one monitor with {args.history:,} runs; test client, whole Django stack, no network")
        print(f"{len(samples)} samples: median {median:.1f} ms  p95 {p95:.1f} ms  min {samples[0]:.1f} ms")
        # CPU time of this process (Django's share; the database's is not in it): steadier than
        # wall time on a busy machine.
        print(f"Django CPU per page: median {statistics.median(cpu):.1f} ms")
        print(f"response {len(response.content) / 1024:.0f} KiB, {query_count} queries")
        print(f"goal: median <= {GOAL_MS:.0f} ms: {'pass' if median <= GOAL_MS else 'MISS'}")
        print("\nrun strip query plan:")
        for line in _plan(vendor, ids).splitlines():
            print(f"  {line}")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            if vendor == "postgresql":
                _pg_admin(
                    args.database_url,
                    f"DROP DATABASE IF EXISTS {_pg_database(args.database_url)} WITH (FORCE)",
                )
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


def client_user(username: str) -> User:
    from django.contrib.auth.models import User

    return User.objects.get(username=username)


if __name__ == "__main__":
    main()
