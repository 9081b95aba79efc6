"""Delivery cost: CPU and wall time per outbox row, one worker thread, PostgreSQL.

    .venv/bin/python bench/delivery_cpu.py            # 300 rows
    .venv/bin/python bench/delivery_cpu.py --rows 1000

A fresh database (the URL's, dropped and re-created, dropped again on exit), `migrate`, ROWS
monitors missed at once and swept in-process, so each has an outbox row for a webhook channel
pointing at a loopback sink in another process (its CPU is not this process's). Then every row
is delivered in turn by `alerts.delivery.outbox.notification_deliver`, as one delivery thread
does: this process's CPU time and the wall time per row, and PostgreSQL's statements per row.
Reference, measured in the same run: the same number of POSTs of the same size to the same
sink from this process (what a delivery costs before it touches the database).
Exits 1 when a row was not delivered.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vigil_bench_delivery"
SINK = """
from http.server import BaseHTTPRequestHandler
from bench.sink_server import SinkServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

server = SinkServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def _per_row(rows: int, run: Callable[[], None]) -> tuple[float, float]:
    """(CPU ms, wall ms) per row of `run()`."""
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return (time.process_time() - cpu) * 1000 / rows, (time.perf_counter() - wall) * 1000 / rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="postgres://…/NAME (re-created)")
    parser.add_argument("--rows", type=int, default=300)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench import app_env, pg_admin

    pg_admin.recreate(args.database_url)
    app_env.use_postgres(
        args.database_url,
        VIGIL_VAR_DIR=tempfile.mkdtemp(prefix="vigil-bench-delivery."),
        # The sink is on loopback; nothing is sent anywhere else.
        WEBHOOKS_ALLOW_PRIVATE_IPS="true",
    )
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK], cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    try:
        assert sink.stdout is not None
        port = int(sink.stdout.readline())
        return _run(args.rows, f"http://127.0.0.1:{port}/hook")
    finally:
        sink.kill()
        from django.db import connections

        connections.close_all()
        pg_admin.drop(args.database_url)


def _run(rows: int, sink_url: str) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alerts.delivery.outbox import notification_deliver
    from alerts.models import DeliveryStatus, Notification
    from bench.rows import bench_row
    from bench.sweep_phases import make_due, measure_burst, project_with_channel, seed_idle

    call_command("migrate", verbosity=0)
    project, channel = project_with_channel(name="delivery benchmark", sink_url=sink_url)
    seed_idle(project=project, channel=channel, count=rows)
    measure_burst(make_due(project=project, count=rows))
    due = list(Notification.objects.order_by("id").values_list("id", "attempt_count", "payload"))
    if len(due) != rows:
        print(f"error: {len(due)} outbox rows, wanted {rows}")
        return 1

    def deliver() -> None:
        for notification_id, attempt_count, _ in due:
            notification_deliver(notification_id=notification_id, attempt_count=attempt_count)

    body_size = len(str(due[0][2]).encode())
    parts = urlsplit(sink_url)

    def post() -> None:
        sink = http.client.HTTPConnection(parts.hostname or "", parts.port)
        for _ in due:
            sink.request("POST", parts.path, body=b"x" * body_size)
            sink.getresponse().read()
            sink.close()

    with CaptureQueriesContext(connection) as queries:
        notification_deliver(notification_id=due[0][0], attempt_count=due[0][1])
    due = due[1:]
    cpu, wall = _per_row(len(due), deliver)
    post_cpu, post_wall = _per_row(len(due), post)
    delivered = Notification.objects.filter(status=DeliveryStatus.DELIVERED).count()
    print(f"{rows:,} rows, one thread: statements per delivery {len(queries)}")
    for line in queries:
        print(f"    {' '.join(line['sql'].split())[:100]}")
    reference = f"a loopback POST alone {post_cpu:.2f} ms CPU, {post_wall:.2f} ms wall"
    print(f"delivery: {cpu:.2f} ms CPU, {wall:.2f} ms wall per row; {reference}")
    name = "delivery: per outbox row, one thread, PostgreSQL"
    bench_row(f"{name}, CPU", round(cpu, 2), "ms", reference=reference)
    bench_row(f"{name}, wall", round(wall, 2), "ms", reference=reference)
    if delivered != rows:
        print(f"error: {delivered} of {rows} rows delivered")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
