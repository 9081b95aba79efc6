"""Resident memory of Vigil's processes after load: a web worker, the delivery worker, the
housekeeping worker and beat, as docker-compose.yml runs them (against their own PostgreSQL
and Redis, tests/faults/servers.py). Goal: a web worker <= 120 MB.

    .venv/bin/python bench/memory.py [--seconds 30] [--monitors 200]

Load: MONITORS monitors on a loopback webhook channel, 8 client threads pinging them for
SECONDS, every 20th ping of a thread a failure then a success (an incident opened and
resolved: two webhooks), then until the outbox is empty. References measured in the same run:
for the web worker, a worker of the hello-world app (bench/hello_app.py: Django, no database,
no middleware) under the same gunicorn command and the same load; for the others, the same
process right after it started. RSS is what /proc says (VmRSS: shared pages count in full).
Prints `BENCH-ROW` lines (bench/rows.py); exits 1 when a ping was not answered 200 or the
outbox did not drain.
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
from tests.alerts.loopback import HttpReceiver  # noqa: E402
from tests.faults.servers import BIN, Process, Vigil, free_port, http_request, servers, wait_until  # noqa: E402
from tests.faults.site import count, site_open  # noqa: E402

MB = 1024 * 1024
WEB_TARGET_MB = 120
GUNICORN_CONFIG = ("--config", "python:monitorsite.gunicorn_conf")


def rss(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else 0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def largest_child(process: Process) -> int:
    return max((rss(pid) for pid in children(process.popen.pid)), default=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--monitors", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    failed = 0
    with (
        servers() as (postgres, redis),
        tempfile.TemporaryDirectory(prefix="vigil-bench-memory-") as tmp,
        HttpReceiver() as receiver,
    ):
        postgres.create_database("vigil")
        vigil = Vigil(directory=Path(tmp))
        vigil.configure(database_url=postgres.url(), redis_url=redis.url(), LOG_LEVEL="WARNING")
        try:
            vigil.migrate()
            api_key = vigil.bootstrap()
            web = vigil.start_web(workers=2, extra=GUNICORN_CONFIG)
            worker = vigil.start_celery("worker", "-Q", "celery", "--concurrency", "2", "-l", "WARNING")
            housekeeping = vigil.start_worker("housekeeping", name="housekeeping")
            beat = vigil.start_beat()
            wait_until(lambda: len(children(worker.popen.pid)) >= 2, timeout=60, what="the worker's pool")
            site = site_open(web, api_key)
            channel = site.webhook_channel(receiver.url)
            uuids = [site.monitor(f"job-{n}", channels=[channel]) for n in range(args.monitors)]
            at_start = {
                "worker": rss(worker.popen.pid),
                "pool": largest_child(worker),
                "housekeeping": rss(housekeeping.popen.pid),
                "beat": rss(beat.popen.pid),
            }

            load = ping_load(web.base_url, uuids, seconds=args.seconds, threads=args.threads, fail_every=20)
            failed += load.failed
            wait_until(
                lambda: (
                    count(postgres, "SELECT count(*) FROM alerts_notification WHERE status <> 'delivered'")
                    == 0
                ),
                timeout=120,
                what="the outbox drained",
                interval=0.5,
            )
            after = {
                "web worker": largest_child(web),
                "web master": rss(web.popen.pid),
                "worker": rss(worker.popen.pid),
                "pool": largest_child(worker),
                "housekeeping": rss(housekeeping.popen.pid),
                "beat": rss(beat.popen.pid),
            }
            notifications = count(postgres, "SELECT count(*) FROM alerts_notification")

            port = free_port()
            hello = vigil.start(
                "hello",
                [str(BIN / "gunicorn"), "bench.hello_app:application", *GUNICORN_CONFIG,
                 "--workers", "2", "--bind", f"127.0.0.1:{port}"],
                base_url=f"http://127.0.0.1:{port}",
            )  # fmt: skip
            wait_until(lambda: _answers(hello.base_url), timeout=60, what="hello-world answering")
            hello_load = ping_load(hello.base_url, uuids, seconds=args.seconds, threads=args.threads)
            failed += hello_load.failed
            hello_worker = largest_child(hello)
        finally:
            vigil.close()

    print(f"load: {load.ok:,} pings answered 200 ({load.rate:.0f}/s), {notifications:,} webhooks delivered")
    for name, value in after.items():
        print(f"  {name:13} {value / MB:7.1f} MB")
    print(f"  hello worker  {hello_worker / MB:7.1f} MB")

    def mb(value: int) -> float:
        return round(value / MB, 1)

    bench_row(
        "resident memory: web worker (largest of 2) after load",
        mb(after["web worker"]),
        "MB",
        target=f"<= {WEB_TARGET_MB} MB",
        reference=f"{mb(hello_worker)} MB: a hello-world Django worker after the same load",
    )
    for name, key, label in (
        ("delivery worker (main process)", "worker", "worker"),
        ("delivery worker (largest pool process)", "pool", "pool"),
        ("housekeeping worker", "housekeeping", "housekeeping"),
        ("beat", "beat", "beat"),
    ):
        bench_row(
            f"resident memory: {name} after load",
            mb(after[key]),
            "MB",
            reference=f"{mb(at_start[label])} MB at start",
        )
    if failed:
        print(f"error: {failed} pings not answered 200", file=sys.stderr)
        return 1
    return 0


def _answers(base_url: str) -> bool:
    try:
        return (
            http_request(base_url, "GET", "/ping/00000000-0000-4000-8000-000000000000", timeout=5).status
            == 200
        )
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
