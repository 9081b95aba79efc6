"""Runs feed and stats benchmark: `runs/` and `monitors/<id>/stats/` over a large run history.

    .venv/bin/python bench/runs_feed.py          # PostgreSQL (the target); drops and re-creates its db

1. A fresh database, `migrate`; project A: 200 monitors (tags "db" on a quarter), 300,000 runs
   over 60 days, 2 % failed, 100,000 of them on one busy monitor; project B (noise that must
   never show): 200 monitors, 200,000 runs. ANALYZE.
2. Each request through the whole stack (key, view, serializer), SAMPLES times after a warm-up:
   median and p95 server time, and the plan of its page query (EXPLAIN ANALYZE).
3. The same requests with the index `run_monitor_status_finished` dropped, for comparison.
No target is asserted; the figures are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vigil_bench_runs_feed"
DAY_SECONDS = 86400
HISTORY_DAYS = 60
FAILED_SHARE = 0.02


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="postgres://…/NAME (re-created)")
    parser.add_argument("--runs", type=int, default=300_000, help="runs of the measured project")
    parser.add_argument("--busy-runs", type=int, default=100_000, help="of which on one monitor")
    parser.add_argument("--noise-runs", type=int, default=200_000, help="runs of another project")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args()


def _seed_runs(streams: list[tuple[list[int], int]]) -> None:
    """Each (monitor ids, runs) stream spread evenly over its monitors and the last HISTORY_DAYS
    days; all streams inserted in time order, so ids interleave as real traffic does."""
    from django.db import connection

    parts: list[str] = []
    params: list[Any] = []
    for monitor_ids, runs in streams:
        parts.append(
            "SELECT %s::bigint[] AS ids, n, now() - make_interval(secs => (%s - n) * %s) AS at "
            "FROM generate_series(1, %s) AS n"
        )
        params += [monitor_ids, runs, HISTORY_DAYS * DAY_SECONDS / runs, runs]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO pings_run (monitor_id, status, started_at, finished_at, duration_ms, exit_code,
                                   meta, log, log_truncated, overlap, manual, closed_reason)
            SELECT ids[1 + n %% cardinality(ids)],
                   CASE WHEN random() < {FAILED_SHARE} THEN 'failed' ELSE 'success' END,
                   at - interval '30 seconds', at, 30000, 0, '{{}}'::jsonb, 'ok',
                   false, false, false, ''
            FROM ({" UNION ALL ".join(parts)}) AS stream
            ORDER BY at
            """,
            params,
        )


@dataclass(frozen=True)
class Seeded:
    busy: int
    quiet: int
    key: str


def _seed(args: argparse.Namespace) -> Seeded:
    from django.db import connection
    from django.utils import timezone

    from monitors.api_keys import api_key_create
    from monitors.models import Monitor, Project

    now = timezone.now()

    def monitors(project: Project, count: int) -> list[int]:
        rows = [
            Monitor(
                project=project,
                name=f"job {n}",
                slug=f"job-{n}",
                tags=["db"] if n % 4 == 0 else ["web"],
                window_start=now,
            )
            for n in range(count)
        ]
        return [m.id for m in Monitor.objects.bulk_create(rows)]

    measured = Project.objects.create(name="measured")
    noise = Project.objects.create(name="noise")
    ours = monitors(measured, 200)
    busy, others = ours[0], ours[1:]
    _seed_runs(
        [
            (others, args.runs - args.busy_runs),
            ([busy], args.busy_runs),
            (monitors(noise, 200), args.noise_runs),
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE pings_run")
        cursor.execute("ANALYZE monitors_monitor")
    _, key = api_key_create(project=measured, name="bench")
    return Seeded(busy=busy, quiet=others[-1], key=key)


def _measure(paths: list[str], key: str, samples: int) -> dict[str, tuple[float, float, int]]:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    figures = {}
    for path in paths:
        for _ in range(3):
            client.get(path)
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.content[:200])
        count = response.json().get("count", -1)
        figures[path] = (statistics.median(times), statistics.quantiles(times, n=20)[18], count)
    return figures


def _plans(paths: list[str], key: str) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    for path in paths:
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        run_queries = [q["sql"] for q in captured.captured_queries if "pings_run" in q["sql"]]
        print(f"\n--- {path}")
        for sql in run_queries:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql)
                print("\n".join(row[0] for row in cursor.fetchall()))


def _report(title: str, figures: dict[str, tuple[float, float, int]]) -> None:
    print(f"\n{title}")
    print(f"{'request':64} {'median':>9} {'p95':>9} {'count':>8}")
    for path, (median, p95, count) in figures.items():
        print(f"{path:64} {median:7.1f}ms {p95:7.1f}ms {count:8}")


def main() -> int:
    args = _parse_args()
    sys.path.insert(0, str(ROOT))
    from bench import app_env, pg_admin

    pg_admin.recreate(args.database_url)
    app_env.use_postgres(args.database_url)
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        seeded = _seed(args)
        print(f"seeded {args.runs:,} + {args.noise_runs:,} runs in {time.perf_counter() - started:.1f} s")
        busy, quiet, key = seeded.busy, seeded.quiet, seeded.key
        paths = [
            "/api/v1/runs/?status=failed&since=24h",
            "/api/v1/runs/?status=failed&since=7d",
            "/api/v1/runs/?status=failed",
            "/api/v1/runs/?since=24h",
            "/api/v1/runs/",
            "/api/v1/runs/?tag=db&status=failed&since=24h",
            f"/api/v1/runs/?monitor={quiet}&status=failed",
            f"/api/v1/runs/?monitor={busy}",
            f"/api/v1/monitors/{busy}/stats/",
            f"/api/v1/monitors/{quiet}/stats/",
        ]
        _report("with run_monitor_status_finished", _measure(paths, key, args.samples))
        _plans([paths[0], paths[4], paths[8]], key)

        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX run_monitor_status_finished")
        _report("without it (for comparison)", _measure(paths, key, max(5, args.samples // 3)))
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            pg_admin.drop(args.database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
