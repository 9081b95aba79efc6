"""End-to-end detection latency for bench/sweep.py: a real Celery worker and beat, a webhook sink.

Import only after `django.setup()`.
"""

from __future__ import annotations

import http.client
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from alerts.models import Channel, Notification, NotificationEvent
from alerts.outages import SWEEPER_NAME
from bench.sink_server import SinkServer
from bench.sweep_phases import BenchError, link_channel
from monitors.models import Monitor, MonitorStatus, Project, SweeperHeartbeat

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10
READY_TIMEOUT_SECONDS = 60
DELIVERY_TIMEOUT_SECONDS = 15
# Each poll for outbox rows notes the time first; a row is seen at most one poll (plus a query) late.
POLL_SECONDS = 0.02
# The monitors are already late (the sweeper saw them at their due time, one grace earlier), so
# their deadline is the instant they are missed: the sweep after it opens the incident.
GRACE = timedelta(minutes=1)
INTERVAL = timedelta(hours=1)
LOG_MARKERS = ("ERROR", "CRITICAL", "Traceback")


class WebhookSink:
    """A loopback HTTP server that answers 204 and notes when each webhook-id first arrived."""

    def __init__(self, *, delay_seconds: float = 0.0) -> None:
        """`delay_seconds`: how long each answer takes, to play a slow receiver."""
        self.arrivals: dict[str, datetime] = {}
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = datetime.now(UTC)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(delay_seconds)
                self.send_response(204)
                self.end_headers()
                arrivals.setdefault(self.headers.get("webhook-id", ""), arrived)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: a line per POST would bury the report."""

        self._server = SinkServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class CeleryProcesses:
    """The workers and beat exactly as `manage.py runall` starts them, their output in log files."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        from monitors.management.commands.runall import process_commands

        commands = process_commands(host="127.0.0.1", port=0, web_workers=1)
        del commands["web"]
        for name, command in commands.items():
            with self.log_path(name).open("wb") as log:
                self.processes[name] = subprocess.Popen(
                    command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"celery-{name}.log"

    def check(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = self.log_path(name).read_text(errors="replace")[-2000:]
                raise BenchError(f"celery {name} exited with {process.returncode}:\n{tail}")

    def stop(self) -> dict[str, int]:
        """SIGTERM (warm shutdown) to each; SIGKILL after STOP_GRACE_SECONDS. Returns the exit codes."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        codes = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait()
        return codes

    def problems(self) -> list[str]:
        """Log lines that say something went wrong."""
        lines = []
        for name in self.processes:
            for line in self.log_path(name).read_text(errors="replace").splitlines():
                if any(marker in line for marker in LOG_MARKERS):
                    lines.append(f"{name}: {line}")
        return lines


@dataclass
class Detection:
    deadline: datetime
    # The outbox row's created_at: the `now` of the sweep that detected the miss.
    created_at: datetime
    # When a poll first saw the committed row.
    seen_at: datetime
    message_id: str


@dataclass
class EndToEnd:
    monitors: int
    spread_seconds: float
    ready_seconds: float
    # Monitors whose deadline had already passed when their rows committed (seeding too slow).
    seeded_late: int
    detections: dict[int, Detection]
    deliveries: dict[int, datetime]
    # The start (`now`) of every sweep seen in the heartbeat while watching.
    sweep_starts: list[datetime]
    exit_codes: dict[str, int]
    log_problems: list[str]

    def stored_seconds(self) -> list[float]:
        return [(d.created_at - d.deadline).total_seconds() for d in self.detections.values()]

    def seen_seconds(self) -> list[float]:
        return [(d.seen_at - d.deadline).total_seconds() for d in self.detections.values()]

    def delivery_rate(self) -> float:
        """Webhooks received per second, from the first arrival to the last."""
        arrivals = sorted(self.deliveries.values())
        if len(arrivals) < 2:
            return 0.0
        return (len(arrivals) - 1) / max((arrivals[-1] - arrivals[0]).total_seconds(), 1e-6)

    def delivered_seconds(self) -> list[float]:
        return [
            (self.deliveries[monitor_id] - d.deadline).total_seconds()
            for monitor_id, d in self.detections.items()
            if monitor_id in self.deliveries
        ]


@dataclass(frozen=True)
class LoopbackReference:
    median_ms: float
    per_second: float


def loopback_reference(sink: WebhookSink, *, posts: int = 100) -> LoopbackReference:
    """Sequential POSTs from this process to the sink, one connection each (as a delivery)."""
    parts = urlsplit(sink.url)
    samples = []
    started = time.perf_counter()
    for n in range(posts):
        began = time.perf_counter()
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        connection.request("POST", parts.path, body=b"{}", headers={"webhook-id": f"reference-{n}"})
        connection.getresponse().read()
        connection.close()
        samples.append((time.perf_counter() - began) * 1000)
    elapsed = time.perf_counter() - started
    return LoopbackReference(median_ms=statistics.median(samples), per_second=posts / elapsed)


def run_end_to_end(
    *,
    project: Project,
    channel: Channel,
    sink: WebhookSink,
    count: int,
    lead_seconds: float,
    spread_seconds: float,
    log_dir: Path,
) -> EndToEnd:
    celery = CeleryProcesses(log_dir)
    started = timezone.now()
    celery.start()
    try:
        _wait_for_sweeps(celery, since=started)
        ready_seconds = (timezone.now() - started).total_seconds()
        deadlines, seeded_late = _seed_deadlines(
            project=project, channel=channel, count=count, lead=lead_seconds, spread=spread_seconds
        )
        detections, sweep_starts = _watch_outbox(
            celery, deadlines, timeout=lead_seconds + spread_seconds + 30
        )
        deliveries = _wait_for_deliveries(sink, detections)
    finally:
        exit_codes = celery.stop()
    return EndToEnd(
        monitors=count,
        spread_seconds=spread_seconds,
        ready_seconds=ready_seconds,
        seeded_late=seeded_late,
        detections=detections,
        deliveries=deliveries,
        sweep_starts=sweep_starts,
        exit_codes=exit_codes,
        log_problems=celery.problems(),
    )


def _heartbeat() -> datetime | None:
    return SweeperHeartbeat.objects.filter(name=SWEEPER_NAME).values_list("beat_at", flat=True).first()


def _wait_for_sweeps(celery: CeleryProcesses, *, since: datetime) -> None:
    """Until the worker has run two sweeps that beat sent after `since`: both are up and steady."""
    seen: list[datetime] = []
    ends = time.monotonic() + READY_TIMEOUT_SECONDS
    while len(seen) < 2:
        if time.monotonic() > ends:
            raise BenchError(f"no sweep from the worker within {READY_TIMEOUT_SECONDS} s")
        celery.check()
        beat_at = _heartbeat()
        if beat_at is not None and beat_at > since and (not seen or beat_at > seen[-1]):
            seen.append(beat_at)
        time.sleep(0.1)


def _seed_deadlines(
    *, project: Project, channel: Channel, count: int, lead: float, spread: float
) -> tuple[dict[int, datetime], int]:
    """`count` late monitors whose deadlines fall evenly over `spread` seconds, `lead` from now."""
    now = timezone.now()
    monitors = []
    for i in range(count):
        deadline = now + timedelta(seconds=lead + spread * i / count)
        due = deadline - GRACE
        monitors.append(
            Monitor(
                project=project,
                name=f"e2e job {i}",
                slug=f"e2e-{i}",
                interval_seconds=int(INTERVAL.total_seconds()),
                grace_seconds=int(GRACE.total_seconds()),
                status=MonitorStatus.LATE,
                created_at=due - INTERVAL,
                window_start=due - INTERVAL,
                next_due_at=due,
                deadline=deadline,
            )
        )
    with transaction.atomic():
        Monitor.objects.bulk_create(monitors)
        deadlines = dict(Monitor.objects.filter(project=project).values_list("id", "deadline"))
        link_channel(channel, list(deadlines))
    committed = timezone.now()
    planned = {monitor_id: deadline for monitor_id, deadline in deadlines.items() if deadline is not None}
    return planned, sum(1 for deadline in planned.values() if deadline < committed)


def _watch_outbox(
    celery: CeleryProcesses, deadlines: dict[int, datetime], *, timeout: float
) -> tuple[dict[int, Detection], list[datetime]]:
    """Each monitor's outbox row as first seen, and the sweeps seen starting meanwhile."""
    found: dict[int, Detection] = {}
    sweep_starts: list[datetime] = []
    ends = time.monotonic() + timeout
    while len(found) < len(deadlines) and time.monotonic() < ends:
        celery.check()
        polled = timezone.now()
        beat_at = _heartbeat()
        if beat_at is not None and (not sweep_starts or beat_at > sweep_starts[-1]):
            sweep_starts.append(beat_at)
        rows = Notification.objects.filter(
            incident__monitor_id__in=deadlines.keys() - found.keys(), event=NotificationEvent.PROBLEM
        ).values_list("incident__monitor_id", "created_at", "message_id")
        for monitor_id, created_at, message_id in rows:
            found[monitor_id] = Detection(deadlines[monitor_id], created_at, polled, message_id)
        time.sleep(POLL_SECONDS)
    return found, sweep_starts


def _wait_for_deliveries(sink: WebhookSink, detections: dict[int, Detection]) -> dict[int, datetime]:
    """The sink's arrival time per monitor, waiting up to DELIVERY_TIMEOUT_SECONDS for the last ones."""
    ends = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while time.monotonic() < ends:
        if all(d.message_id in sink.arrivals for d in detections.values()):
            break
        time.sleep(0.1)
    return {
        monitor_id: sink.arrivals[d.message_id]
        for monitor_id, d in detections.items()
        if d.message_id in sink.arrivals
    }
