"""A hot monitor: hundreds of pings a second to one monitor, judged as they come, the sweeper busy.

Issue 10: after nine good runs every run was left to the sweeper, whose claim lost to the
pings; thousands of runs waited to be judged and the sweep that finally won held the row for
seconds while every ping stalled. Now each run is judged in its own ping's transaction.

A real gunicorn on PostgreSQL (started here with explicit arguments), the real sweeper command
working through 50 other monitors that are missed every two seconds, and client threads sending
starts, finishes, plain successes and a few failures at a paced rate. Then: p99 latency, every
acknowledged ping stored, and every run judged exactly once: replaying the finishes in the
order the database serialised them (ping ids are drawn under the monitor's row lock) must give
the monitor's counters, its duration window and its incidents and outbox rows exactly.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from alerts.models import Channel, Incident, Notification
from monitors.models import Monitor
from monitors.slowness import slow_threshold_ms, with_duration
from pings.models import Ping, PingKind, RunStatus
from tests.factories import MonitorFactory, ProjectFactory

REPO = Path(__file__).resolve().parents[2]
THREADS = 8
RATE_PER_THREAD = 25.0  # 200 pings/s in all
SECONDS = 20.0
WARM_UP_PINGS = 20
# Not a speed target (those are bench/hot_monitor.py's, measured on a quiet machine): the stall
# issue 10 fixed held every ping for seconds; on a slow, busy CI machine a ping still answers
# well within one.
STALL_MS = 1000.0
BACKGROUND_MONITORS = 50
GUNICORN = ["--workers", "4", "--worker-class", "gthread", "--threads", "4", "--timeout", "60"]


def database_url() -> str:
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start")


class Load:
    """Paced clients; each keeps one connection and records (latency, status) per ping."""

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()

    def send(self, connection: http.client.HTTPConnection, target: str, *, measured: bool) -> None:
        began = time.perf_counter()
        connection.request("GET", target)
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - began
        with self.lock:
            self.statuses[response.status] += 1
            if measured:
                self.latencies.append(elapsed)

    def client(self, seed: int, start: float) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for _ in range(WARM_UP_PINGS // THREADS):
            self.send(connection, self.path, measured=False)
        sent = 0
        while (now := time.monotonic()) < start + SECONDS:
            due = start + sent / RATE_PER_THREAD
            if due > now:
                time.sleep(due - now)
            # A cycle of five: a start and its finish, two plain successes, and one in 20 cycles a failure.
            step = sent % 5
            if step == 0:
                rid = uuid.uuid5(uuid.NAMESPACE_OID, f"{seed}-{sent}")
                target = f"{self.path}/start?rid={rid}"
            elif step == 1:
                target = f"{self.path}?rid={rid}"
            elif step == 4 and (sent // 5) % 20 == seed:
                target = f"{self.path}/fail"
            else:
                target = self.path
            self.send(connection, target, measured=True)
            sent += 1
        connection.close()


def replay(monitor: Monitor) -> dict[str, Any]:
    """The finishes in the order they were judged, judged again by CONTRACT §3's counting rules.

    Incidents opening three times within FLAP_WINDOW_SECONDS make it flapping: later problems
    and recoveries are not notified (the load lasts seconds: it never becomes stable again).
    """
    bad = good = opened = resolved = notified_problems = notified_recoveries = 0
    incident = flapping = False
    opens: list[datetime] = []
    window = timedelta(seconds=settings.FLAP_WINDOW_SECONDS)
    durations: tuple[int, ...] = ()
    finishes = Ping.objects.filter(monitor=monitor).exclude(kind__in=[PingKind.START, PingKind.LOG])
    for ping in finishes.select_related("run").order_by("id"):
        run = ping.run
        assert run is not None
        ok = run.status == RunStatus.SUCCESS
        if ok and run.duration_ms is not None:
            threshold = slow_threshold_ms(durations)
            ok = threshold is None or run.duration_ms <= threshold
            durations = with_duration(durations, run.duration_ms)
        if ok:
            bad, good = 0, good + 1
            if incident:
                incident, resolved = False, resolved + 1
                notified_recoveries += not flapping
        else:
            bad, good = bad + 1, 0
            if not incident:
                incident, opened = True, opened + 1
                notified_problems += not flapping
                opens.append(ping.received_at)
                flapping = flapping or len([at for at in opens if at >= ping.received_at - window]) >= 3
    return {
        "consecutive_bad": bad,
        "consecutive_good": good,
        "incident_open": incident,
        "recent_durations_ms": list(durations),
        "opened": opened,
        "resolved": resolved,
        "notified_problems": notified_problems,
        "notified_recoveries": notified_recoveries,
        "flapping": flapping,
    }


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_hot_monitor_keeps_pings_fast_and_judges_every_run_once() -> None:
    project = ProjectFactory.create()
    channel = Channel.objects.create(
        project=project, kind="webhook", name="hook", config={"url": "http://h.invalid"}
    )
    hot = MonitorFactory.create(project=project, interval_seconds=3600, grace_seconds=300, allow_overlap=True)
    hot.channels.set([channel])
    past = timezone.now() - timedelta(seconds=5)
    Monitor.objects.bulk_create(
        Monitor(
            project=project,
            name=f"busy {n}",
            slug=f"busy-{n}",
            interval_seconds=2,
            grace_seconds=0,
            created_at=past,
            window_start=past,
            next_due_at=past,
            deadline=past,
        )
        for n in range(BACKGROUND_MONITORS)
    )
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "monitorsite.settings",
        "SWEEPER_OUTAGE_SECONDS": "1000000000",
        "PING_RATE_LIMIT_PER_MINUTE": "100000000",
        "LOG_LEVEL": "ERROR",
    }
    env.pop("REDIS_URL", None)
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "monitorsite.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            *GUNICORN,
        ],
        cwd=REPO,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    sweeper = subprocess.Popen([sys.executable, "manage.py", "sweep"], cwd=REPO, env=env)
    load = Load(port, f"/ping/{hot.ping_uuid}")
    try:
        wait_for(port)
        start = time.monotonic() + 1
        threads = [threading.Thread(target=load.client, args=(seed, start)) for seed in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for process in (web, sweeper):
            process.send_signal(signal.SIGTERM)
        for process in (web, sweeper):
            process.wait(timeout=60)

    sent = sum(load.statuses.values())
    assert load.statuses == Counter({200: sent})

    # Every acknowledged ping stored.
    assert Ping.objects.filter(monitor=hot).count() == sent
    # Every run judged exactly once: the counters, duration window and incidents are the replay's.
    stored = Monitor.objects.get(id=hot.id)
    expected = replay(stored)
    for name in ("consecutive_bad", "consecutive_good", "incident_open", "recent_durations_ms"):
        assert getattr(stored, name) == expected[name], name
    assert stored.open_runs == stored.runs.filter(status=RunStatus.RUNNING).count()
    incidents = Incident.objects.filter(monitor=hot)
    assert expected["opened"] >= 10
    assert incidents.count() == expected["opened"]
    assert incidents.filter(resolved_at__isnull=False).count() == expected["resolved"]
    notifications = Notification.objects.filter(incident__monitor=hot)
    assert notifications.filter(event="problem").count() == expected["notified_problems"]
    assert notifications.filter(event="recovered").count() == expected["notified_recoveries"]
    assert stored.flapping == expected["flapping"]
    # The slow threshold learned from the window kept on the row.
    assert slow_threshold_ms(stored.recent_durations_ms) is not None
    # The sweeper was working all along on the other monitors.
    assert Incident.objects.exclude(monitor=hot).count() >= BACKGROUND_MONITORS

    # No ping stalled behind the judgement or the sweeper, and the load was real: at least half
    # the paced rate answered.
    ordered = sorted(load.latencies)
    p99_ms = ordered[round(0.99 * (len(ordered) - 1))] * 1000
    summary = (
        f"p99 {p99_ms:.0f} ms, max {ordered[-1] * 1000:.0f} ms over {len(ordered)} pings in {SECONDS:.0f} s"
    )
    print(summary)
    assert len(ordered) >= 0.5 * THREADS * RATE_PER_THREAD * SECONDS, summary
    assert p99_ms <= STALL_MS, summary
