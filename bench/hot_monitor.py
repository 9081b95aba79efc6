"""A hot monitor: threads pinging one monitor hundreds of times a second while the sweeper runs.

    .venv/bin/python bench/hot_monitor.py                       # 3 threads, ~290 pings/s, 30 s
    .venv/bin/python bench/hot_monitor.py --threads 6 --rate 400 --fail-every 50

Issue 10's stall scenario: a fresh PostgreSQL database (dropped and re-created, dropped again
on exit), gunicorn with two sync workers (as docker-compose.yml runs it), the sweeper in the
foreground (`manage.py sweep`, every second), one monitor (interval 1 h, grace 5 min). Each
thread keeps one connection and paces its pings to its share of `--rate`; `--fail-every N`
makes every Nth ping of a thread a `/fail`, `--pairs` sends start/finish pairs with a rid.
After the load, one client pings at 10/s while the sweeper catches up (where the old design
stalled). Prints the latency percentiles and stalls (answers slower than a second, and when)
of both phases, every acknowledged ping checked against its row, and the runs left unjudged
(`evaluated = false`, a column of the old design, reported where it exists). Runs from any
checkout: copy it into one to measure that code.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vigil_bench_hot"
STALL_SECONDS = 1.0


@dataclass
class Samples:
    lock: threading.Lock = field(default_factory=threading.Lock)
    # (seconds since the start when sent, latency in seconds, HTTP status)
    pings: list[tuple[float, float, int]] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _setup(database_url: str, var_dir: Path) -> tuple[dict[str, str], str]:
    """The app's environment and a fresh database with one project and one monitor; its ping path."""
    from bench import pg_admin

    pg_admin.recreate(database_url)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "monitorsite.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "vigil-bench-not-a-secret",
        "VIGIL_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        "PING_RATE_LIMIT_PER_MINUTE": "100000000",
    }
    env.pop("REDIS_URL", None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    script = (
        "from monitors.models import Project\n"
        "from monitors.services import monitor_create\n"
        "project = Project.objects.create(name='hot')\n"
        "monitor = monitor_create(project=project, slug='hot', interval_seconds=3600, grace_seconds=300)\n"
        "print(monitor.ping_uuid)\n"
    )
    made = subprocess.run(
        [python, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return env, f"/ping/{made.stdout.strip().splitlines()[-1]}"


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def _client(
    port: int, path: str, rate: float, until: float, start: float, options: argparse.Namespace, out: Samples
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    sent = 0
    rid = ""
    while (now := time.monotonic()) < until:
        target = start + sent / rate
        if target > now:
            time.sleep(target - now)
        sent += 1
        suffix = "/fail" if options.fail_every and sent % options.fail_every == 0 else ""
        if options.pairs and sent % 2:
            rid = str(uuid.uuid4())
            suffix = "/start"
        query = f"?rid={rid}" if options.pairs else ""
        began = time.monotonic()
        connection.request("GET", path + suffix + query)
        response = connection.getresponse()
        response.read()
        with out.lock:
            out.pings.append((began - start, time.monotonic() - began, response.status))
    connection.close()


def _run(
    port: int, path: str, threads: int, rate: float, seconds: float, options: argparse.Namespace
) -> Samples:
    samples = Samples()
    start = time.monotonic() + 0.2
    workers = [
        threading.Thread(
            target=_client, args=(port, path, rate / threads, start + seconds, start, options, samples)
        )
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return samples


def _report(label: str, samples: Samples, seconds: float) -> int:
    latencies = [latency for _, latency, _ in samples.pings]
    ok = sum(1 for _, _, status in samples.pings if status == 200)
    rate = len(samples.pings) / seconds
    print(f"== {label}: {len(samples.pings)} pings in {seconds:.0f} s ({rate:.0f}/s), {ok} answered 200")
    print(
        f"latency ms: p50 {statistics.median(latencies) * 1000:.1f}  "
        f"p99 {_percentile(latencies, 99) * 1000:.1f}  max {max(latencies) * 1000:.1f}"
    )
    stalls = sorted((latency, sent) for sent, latency, _ in samples.pings if latency >= STALL_SECONDS)
    print(f"answers slower than {STALL_SECONDS:.0f} s: {len(stalls)}")
    for latency, sent in stalls[::-1][:8]:
        print(f"  {latency:.2f} s, sent at +{sent:.1f} s")
    return ok


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _stored(env: dict[str, str]) -> tuple[int, int, int | None]:
    """(pings stored, runs stored, runs still waiting to be judged or None without that column)."""
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as connection:
        pings = connection.execute("SELECT count(*) FROM pings_ping").fetchone()
        runs = connection.execute("SELECT count(*) FROM pings_run").fetchone()
        has_column = connection.execute(
            "SELECT 1 FROM information_schema.columns"
            " WHERE table_name = 'pings_run' AND column_name = 'evaluated'"
        ).fetchone()
        unjudged = None
        if has_column:
            row = connection.execute("SELECT count(*) FROM pings_run WHERE NOT evaluated").fetchone()
            unjudged = int(row[0]) if row else None
    assert pings is not None
    assert runs is not None
    return int(pings[0]), int(runs[0]), unjudged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--threads", type=int, default=3)
    parser.add_argument("--rate", type=float, default=290.0, help="pings per second, all threads together")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--fail-every", type=int, default=0, help="every Nth ping of a thread is /fail")
    parser.add_argument(
        "--pairs", action="store_true", help="start and finish pings with a rid, not plain ones"
    )
    parser.add_argument(
        "--probe-seconds",
        type=float,
        default=15.0,
        help="then one client at 10/s while the sweeper catches up",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    with tempfile.TemporaryDirectory(prefix="vigil-hot-") as tmp:
        env, path = _setup(args.database_url, Path(tmp))
        port = _free_port()
        gunicorn = [sys.executable, "-m", "gunicorn", "monitorsite.wsgi:application"]
        web = subprocess.Popen([*gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}"], cwd=ROOT, env=env)
        sweeper = subprocess.Popen([sys.executable, "manage.py", "sweep"], cwd=ROOT, env=env)
        try:
            _wait_for(port)
            _run(port, path, 1, 20, 1.0, args)  # warm-up: both workers up, connections open
            load = _run(port, path, args.threads, args.rate, args.seconds, args)
            probe = _run(port, path, 1, 10, args.probe_seconds, args)
        finally:
            for process in (web, sweeper):
                process.terminate()
            for process in (web, sweeper):
                process.wait(timeout=30)
        pings_stored, runs_stored, unjudged = _stored(env)
    from bench import pg_admin

    pg_admin.drop(args.database_url)

    kind = "start/finish pairs" if args.pairs else "plain"
    print(f"{args.threads} threads, target {args.rate:.0f} pings/s, {kind}")
    ok = _report("load", load, args.seconds)
    ok += _report("after the load (the sweeper catching up)", probe, args.probe_seconds)
    print(
        f"stored: {pings_stored} pings, {runs_stored} runs (acknowledged under measure: {ok}, plus warm-up)"
    )
    if unjudged is not None:
        print(f"runs left unjudged (evaluated = false) at the end: {unjudged}")
    if pings_stored < ok:
        raise SystemExit("acknowledged pings are missing")


if __name__ == "__main__":
    main()
