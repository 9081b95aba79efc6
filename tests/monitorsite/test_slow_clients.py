"""Slow clients cannot starve the server: ten connections holding half-sent requests, and
a stream of other pings keeps p99 <= 100 ms, under `make run` and under docker-compose.yml's
web command. Before (sync workers), two such connections stopped every ping for 30 s.

The machine these run on is shared: a round of pings whose p99 misses the bound is measured
again (at most ROUNDS), but every ping of every round must be answered.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

from bench.embedded import EmbeddedVigil, free_port, stop_session
from bench.slow_clients import Latencies, half_sent_requests, ping_latencies, still_open
from tests.deployment import REPO, compose_web_gunicorn, with_option
from tests.factories import MonitorFactory

SLOW_CLIENTS = 10
PINGS = 300
ROUNDS = 3
P99_BOUND_SECONDS = 0.100


def pings_while_held(
    port: int, path: str, runs: Callable[[], int]
) -> tuple[list[Latencies], list[bool], int]:
    """Rounds of PINGS sequential pings while SLOW_CLIENTS hold half-sent requests; whether
    each slow connection was still held (neither answered nor dropped) at the end; and the
    runs stored meanwhile, as `runs()` counts them."""
    rounds: list[Latencies] = []
    runs_before = runs()
    with half_sent_requests(port, path, SLOW_CLIENTS) as slow:
        while len(rounds) < ROUNDS:
            latencies = ping_latencies(port, path, count=PINGS, timeout=10, budget=120)
            rounds.append(latencies)
            if latencies.percentile(0.99) <= P99_BOUND_SECONDS:
                break
        held = [still_open(client) for client in slow]
        stored = runs() - runs_before
    return rounds, held, stored


def assert_not_starved(rounds: list[Latencies], held: list[bool]) -> None:
    summary = "\n".join(latencies.summary() for latencies in rounds)
    for latencies in rounds:
        assert (latencies.failed, latencies.unsent) == (0, 0), summary
    assert rounds[-1].percentile(0.99) <= P99_BOUND_SECONDS, summary
    assert held == [True] * SLOW_CLIENTS, summary


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

        def runs() -> int:
            return int(vigil.api("GET", f"monitors/{monitor['id']}/runs/")[1]["count"])

        rounds, held, stored = pings_while_held(vigil.port, path, runs)
    assert_not_starved(rounds, held)
    assert stored == sum(len(latencies.seconds) for latencies in rounds)


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
        _wait_for_answer(port, server, tmp_path / "gunicorn.log")
        rounds, held, stored = pings_while_held(port, path, monitor.runs.count)
    finally:
        stop_session(server)
    assert_not_starved(rounds, held)
    assert stored == sum(len(latencies.seconds) for latencies in rounds)


def _wait_for_answer(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    """Until gunicorn answers; the probe (an unknown uuid: a 404) writes nothing."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        if ping_latencies(port, f"/ping/{uuid.uuid4()}", count=1, timeout=30, expect=404).seconds:
            return
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within 60 s:\n{log.read_text()}")
