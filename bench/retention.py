"""Retention's effect on the ping path: ping throughput and p99 without retention, with a
retention pass over every monitor (beat's daily one, pings.retention.pings_and_runs_prune)
running back to back (far more often than beat runs any pass), and
without again; the ratio is measured in one run, against one server.

    .venv/bin/python bench/retention.py [--seconds 15] [--monitors 100] [--backlog 2000]

Its own PostgreSQL and Redis (tests/faults/servers.py: initdb into a temporary directory, own
ports; the machine's 5432 and 6379 are left alone), Vigil's gunicorn as production runs it
(`--config python:monitorsite.gunicorn_conf`, 2 workers), MONITORS monitors each holding
BACKLOG old pings over PING_RETENTION_COUNT (so the first passes have real deleting to do), and
8 client threads pinging random monitors over keep-alive connections.
Prints `BENCH-ROW` lines (bench/rows.py) and exits 1 when a ping was not answered 200.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ping_load import ping_load  # noqa: E402
from bench.rows import bench_row  # noqa: E402
from tests.faults.servers import Vigil, servers, wait_until  # noqa: E402
from tests.faults.site import site_open  # noqa: E402

KEEP = 100
RETENTION_LOOP = """
import os, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitorsite.settings")
import django
django.setup()
from pings.retention import pings_and_runs_prune
print("RETENTION ready", flush=True)
passes = 0
while True:
    pings_and_runs_prune()
    passes += 1
    print(f"RETENTION passes={passes}", flush=True)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="each measured window")
    parser.add_argument("--monitors", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=2000, help="old pings per monitor beyond the cap")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    with servers() as (postgres, redis), tempfile.TemporaryDirectory(prefix="vigil-bench-retention-") as tmp:
        postgres.create_database("vigil")
        vigil = Vigil(directory=Path(tmp))
        vigil.configure(database_url=postgres.url(), redis_url=redis.url(), PING_RETENTION_COUNT=str(KEEP))
        try:
            vigil.migrate()
            api_key = vigil.bootstrap()
            web = vigil.start_web(workers=2, extra=("--config", "python:monitorsite.gunicorn_conf"))
            site = site_open(web, api_key)
            uuids = [site.monitor(f"job-{n}", channels=[]) for n in range(args.monitors)]
            postgres.psql(
                "INSERT INTO pings_ping (monitor_id, kind, received_at, remote_addr, user_agent, method,"
                " body_size, body, body_truncated, note)"
                " SELECT m.id, 'success', now() - g * interval '1 minute',"
                " '', '', 'GET', 0, '', false, '' FROM monitors_monitor m,"
                f" generate_series(1, {args.backlog + KEEP}) g; ANALYZE pings_ping",
                database="vigil",
            )
            ping_load(web.base_url, uuids, seconds=2, threads=args.threads)  # warm-up
            before = ping_load(web.base_url, uuids, seconds=args.seconds, threads=args.threads)
            pruner = vigil.start("retention", [sys.executable, "-c", RETENTION_LOOP])
            wait_until(lambda: "RETENTION ready" in pruner.output(), timeout=60, what="retention loop ready")
            rows_before = int(postgres.psql("SELECT count(*) FROM pings_ping", database="vigil"))
            during = ping_load(web.base_url, uuids, seconds=args.seconds, threads=args.threads)
            rows_after = int(postgres.psql("SELECT count(*) FROM pings_ping", database="vigil"))
            pruner.stop(timeout=5)
            passes = len(re.findall(r"RETENTION passes=", pruner.log.read_text()))
            after = ping_load(web.base_url, uuids, seconds=args.seconds, threads=args.threads)
        finally:
            vigil.close()

    reference = (before.rate + after.rate) / 2
    reference_p99 = (before.percentile_ms(0.99) + after.percentile_ms(0.99)) / 2
    for name, load in (("before", before), ("during", during), ("after", after)):
        print(
            f"{name:7} {load.rate:8.1f} pings/s  p50 {load.percentile_ms(0.5):6.1f} ms"
            f"  p99 {load.percentile_ms(0.99):6.1f} ms  not 200: {load.failed}"
        )
    deleted = rows_before + during.ok - rows_after
    print(f"retention: {passes} passes done, {deleted:,} pings deleted in the {args.seconds:.0f} s window")
    ratio = during.rate / reference if reference else 0.0
    bench_row(
        "pings/s with retention pruning back to back (PostgreSQL)",
        round(during.rate, 1),
        "req/s",
        target="ratio >= 0.8",
        reference=f"{reference:.1f} req/s without (mean of before and after); ratio {ratio:.2f}",
    )
    bench_row(
        "ping p99 with retention pruning back to back (PostgreSQL)",
        round(during.percentile_ms(0.99), 1),
        "ms",
        reference=f"{reference_p99:.1f} ms without",
    )
    delete_rate = deleted / args.seconds
    bench_row(
        "pings deleted/s by retention under ping load",
        round(delete_rate),
        "rows/s",
        target="above the ping rate (it keeps up)",
        reference=f"{during.rate:.1f} pings/s stored meanwhile",
    )
    failed = sum(load.failed for load in (before, during, after))
    if failed:
        print(f"error: {failed} pings not answered 200", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
