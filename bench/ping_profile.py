"""Where a ping's time goes: SQL statements per ping and a cProfile of the whole request.

Runs `GET /ping/<uuid>` through Django's full handler (middleware included, no network) on a
throwaway database: a temporary SQLite file by default, or PostgreSQL with
`--postgres URL` (a server URL; the `vigil_bench_profile` database is dropped and re-created).

    .venv/bin/python bench/ping_profile.py                        # SQLite
    .venv/bin/python bench/ping_profile.py --postgres postgres://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROFILE_DB = "vigil_bench_profile"


def _database_url(server_url: str) -> str:
    return f"{server_url.rstrip('/')}/{PROFILE_DB}"


def _configure(args: argparse.Namespace, var_dir: str) -> None:
    sys.path.insert(0, str(ROOT))
    from bench import pg_admin

    os.environ.update(
        DJANGO_SETTINGS_MODULE="monitorsite.settings",
        DEBUG="false",
        ALLOWED_HOSTS="*",
        SECRET_KEY="vigil-bench-not-a-secret",
        VIGIL_VAR_DIR=var_dir,
    )
    for name in ("DATABASE_URL", "REDIS_URL", "VIGIL_SQLITE_PATH"):
        os.environ.pop(name, None)
    if args.postgres:
        pg_admin.recreate(_database_url(args.postgres))
        os.environ["DATABASE_URL"] = _database_url(args.postgres)
    else:
        os.environ["VIGIL_SQLITE_PATH"] = str(Path(var_dir) / "profile.sqlite3")


def _seed(count: int) -> list[str]:
    from django.utils import timezone

    from monitors.models import Monitor, MonitorStatus, Project

    now = timezone.now()
    due = now + timedelta(days=1)
    project = Project.objects.create(name="profile")
    Monitor.objects.bulk_create(
        Monitor(
            project=project,
            name=f"job {i}",
            slug=f"job-{i}",
            interval_seconds=86400,
            grace_seconds=3600,
            status=MonitorStatus.NEW,
            window_start=now,
            next_due_at=due,
            deadline=due,
        )
        for i in range(count)
    )
    return [str(value) for value in Monitor.objects.values_list("ping_uuid", flat=True)]


@contextlib.contextmanager
def _wire_statements() -> Iterator[list[str]]:
    """Every statement the driver sends, including ones Django issues outside its cursor wrapper
    (the CONN_HEALTH_CHECKS `SELECT 1`; on SQLite the per-connection PRAGMAs, BEGIN and COMMIT)."""
    from django.db import connection

    sent: list[str] = []
    if connection.vendor == "sqlite":
        from django.db.backends.sqlite3 import base

        sqlite_base: Any = base  # its `Database` (the sqlite3 module) is not in the stubs
        connect = sqlite_base.Database.connect
        traced: list[Any] = []

        def traced_connect(*args: Any, **kwargs: Any) -> Any:
            raw = connect(*args, **kwargs)
            sent.append("-- new sqlite3 connection")
            raw.set_trace_callback(sent.append)
            traced.append(raw)
            return raw

        if connection.connection is not None:
            connection.connection.set_trace_callback(sent.append)
            traced.append(connection.connection)
        sqlite_base.Database.connect = traced_connect
        try:
            yield sent
        finally:
            sqlite_base.Database.connect = connect
            for raw in traced:
                with contextlib.suppress(Exception):
                    raw.set_trace_callback(None)
        return
    import psycopg

    original = psycopg.Cursor.execute

    def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(query if isinstance(query, str) else repr(query))
        return original(self, query, *args, **kwargs)

    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        psycopg.Cursor.execute = original  # type: ignore[method-assign]


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import close_old_connections, connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    uuids = _seed(args.monitors)
    client = Client()
    for value in uuids[:20]:  # warm caches, imports and the connection
        assert client.get(f"/ping/{value}").status_code == 200

    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/ping/{uuids[-1]}")
    assert response.status_code == 200, response.status_code
    orm_queries = list(captured.captured_queries)  # the next request resets connection.queries
    # The test client disconnects close_old_connections from request_started; gunicorn's
    # WSGIHandler does not, and with CONN_HEALTH_CHECKS that makes the next request's first
    # query start with a `SELECT 1`. Do what the real handler does.
    with _wire_statements() as sent:
        close_old_connections()
        response = client.get(f"/ping/{uuids[-2]}")
    assert response.status_code == 200, response.status_code
    print(f"== ORM queries for one success ping (CaptureQueriesContext): {len(orm_queries)}")
    for query in orm_queries:
        print(f"  {float(query['time']) * 1000:6.2f} ms  {' '.join(query['sql'].split())[:140]}")
    print(f"== statements the driver sent for one ping as gunicorn serves it: {len(sent)}")
    for statement in sent:
        print(f"  {' '.join(statement.split())[:140]}")

    rng = random.Random(1)
    picks = [rng.choice(uuids) for _ in range(args.pings)]
    started = time.perf_counter()
    for value in picks[: args.pings // 2]:
        close_old_connections()
        client.get(f"/ping/{value}")
    plain = (time.perf_counter() - started) / (args.pings // 2)
    print(f"\n== {args.pings // 2} pings in one process, no profiler: {plain * 1000:.2f} ms per ping")

    profiler = cProfile.Profile()
    profiler.enable()
    for value in picks[args.pings // 2 :]:
        close_old_connections()
        client.get(f"/ping/{value}")
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(args.sort).print_stats(args.top)
    print(f"\n== cProfile of {args.pings - args.pings // 2} pings, sorted by {args.sort}")
    print(out.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--postgres", metavar="SERVER_URL", help="e.g. postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--pings", type=int, default=400)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-profile.") as var_dir:
        _configure(args, var_dir)
        try:
            run(args)
        finally:
            if args.postgres:
                from django.db import connections

                from bench import pg_admin

                connections.close_all()
                pg_admin.drop(_database_url(args.postgres))
    return 0


if __name__ == "__main__":
    sys.exit(main())
