"""Slow clients cannot starve the server: ten connections holding half-sent requests, and
a stream of other pings keeps p99 <= 100 ms, under `make run` and under docker-compose.yml's
web command. Before (sync workers), two such connections stopped every ping for 30 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from bench.embedded import EmbeddedVigil, free_port
from bench.slow_clients import Latencies, half_sent_requests, ping_latencies, still_open
from tests.deployment import REPO, compose_web_gunicorn, with_option
from tests.factories import MonitorFactory

SLOW_CLIENTS = 10
PINGS = 400
P99_BOUND_SECONDS = 0.100


def assert_not_starved(latencies: Latencies, held: list[bool]) -> None:
    assert (latencies.failed, latencies.unsent) == (0, 0), latencies.summary()
    assert latencies.percentile(0.99) <= P99_BOUND_SECONDS, latencies.summary()
    # The slow connections held their requests throughout: neither answered nor dropped.
    assert held == [True] * SLOW_CLIENTS


@pytest.mark.smoke
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_make_run_keeps_answering_pings_while_ten_clients_hold_half_sent_requests(tmp_path: Path) -> None:
    with EmbeddedVigil(tmp_path / "var") as vigil:
        vigil.bootstrap()
        monitor = vigil.create(
            "monitors/", {"slug": "steady", "schedule": {"kind": "interval", "seconds": 3600}}
        )
        path = "/ping/" + str(monitor["ping_url"]).rsplit("/ping/", 1)[1]
        with half_sent_requests(vigil.port, path, SLOW_CLIENTS) as slow:
            latencies = ping_latencies(vigil.port, path, count=PINGS, timeout=10, budget=120)
            held = [still_open(client) for client in slow]
            _, runs = vigil.api("GET", f"monitors/{monitor['id']}/runs/")
    assert_not_starved(latencies, held)
    assert runs["count"] == PINGS


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.django_db(transaction=True)
def test_compose_web_command_keeps_answering_pings_while_ten_clients_hold_half_sent_requests(
    tmp_path: Path,
) -> None:
    monitor = MonitorFactory.create()
    port = free_port()
    command = with_option(compose_web_gunicorn(), "--bind", f"127.0.0.1:{port}")
    command[0] = str(Path(sys.executable).parent / "gunicorn")
    settings = connection.settings_dict
    env = {
        **os.environ,
        # The test database, which this test's writes are committed to.
        "DATABASE_URL": (
            f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@{settings['HOST']}:"
            f"{settings['PORT'] or 5432}/{settings['NAME']}"
        ),
        "VIGIL_VAR_DIR": str(tmp_path / "var"),
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    path = f"/ping/{monitor.ping_uuid}"
    try:
        _wait_for_answer(port, path, server, tmp_path / "gunicorn.log")
        before = monitor.runs.count()
        with half_sent_requests(port, path, SLOW_CLIENTS) as slow:
            latencies = ping_latencies(port, path, count=PINGS, timeout=10, budget=120)
            held = [still_open(client) for client in slow]
            stored = monitor.runs.count() - before
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=30)
    assert_not_starved(latencies, held)
    assert stored == PINGS


def _wait_for_answer(port: int, path: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        if ping_latencies(port, path, count=1, timeout=2).seconds:
            return
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within 60 s:\n{log.read_text()}")
