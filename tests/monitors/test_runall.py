"""`make run`'s supervisor: each child killed with SIGKILL comes back, and no alert is lost.

runall as `make run` starts it (this checkout's venv, SQLite, the embedded broker), a
webhook channel to a loopback receiver. Before each kill, a monitor that will go missing
while the child is down and one that fails meanwhile; after all four kills every one of
them must have its `problem` webhook, and the failing ones their `recovered` too.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from bench.embedded import CHILDREN, EmbeddedVigil, WebhookReceiver, group_members
from monitors.management.commands.runall import BACKOFF_FIRST_SECONDS, Supervisor

RESTART_SECONDS = 90
ALERT_SECONDS = 90
# Missed this long after its only ping: while the killed child is down or starting again.
MISSING_AFTER = 3


def wait_until(condition: object, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.mark.smoke
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_each_child_killed_comes_back_and_no_alert_is_lost(tmp_path: Path) -> None:
    receiver = WebhookReceiver()
    vigil = EmbeddedVigil(tmp_path / "var", env={"WEBHOOKS_ALLOW_PRIVATE_IPS": "true"})
    try:
        vigil.start()
        vigil.bootstrap()
        channel = vigil.create(
            "channels/", {"kind": "webhook", "name": "hook", "config": {"url": receiver.url}}
        )

        def monitor(slug: str, seconds: int) -> tuple[int, str]:
            created = vigil.create(
                "monitors/",
                {
                    "slug": slug,
                    "schedule": {"kind": "interval", "seconds": seconds},
                    "grace_seconds": 0,
                    "channels": [channel["id"]],
                },
            )
            return int(created["id"]), "/ping/" + str(created["ping_url"]).rsplit("/ping/", 1)[1]

        def ping(path: str) -> None:
            status, body = vigil.request("GET", path)
            assert status == 200, (path, status, body)

        def problems() -> set[int | None]:
            return {m for m, event, _ in receiver.events() if event == "problem"}

        def recovered() -> set[int | None]:
            return {m for m, event, _ in receiver.events() if event == "recovered"}

        missing: list[int] = []
        failing: dict[int, str] = {}
        for name in CHILDREN:
            killed = vigil.children()[name]
            gone_id, gone_path = monitor(f"gone-while-{name}-down", MISSING_AFTER)
            ping(gone_path)
            missing.append(gone_id)
            fails_id, fails_path = monitor(f"fails-while-{name}-down", 3600)
            failing[fails_id] = fails_path
            os.kill(killed, signal.SIGKILL)
            if name != "web":
                ping(f"{fails_path}/fail")
            wait_until(
                lambda name=name, killed=killed: vigil.children().get(name, killed) != killed,
                timeout=RESTART_SECONDS,
                what=f"runall to start {name} again",
            )
            # The killed child's own children (gunicorn's workers, Celery's pool) went with it.
            wait_until(
                lambda killed=killed: not group_members(killed), timeout=10, what=f"{name}'s leftovers"
            )
            if name == "web":
                wait_until(
                    lambda: vigil.request("GET", "/healthz")[0] == 200, timeout=RESTART_SECONDS, what="web"
                )
                ping(f"{fails_path}/fail")
            # Back at work: detection (housekeeping, beat), delivery (worker) and pings (web).
            wait_until(
                lambda round={gone_id, fails_id}: problems() >= round,
                timeout=ALERT_SECONDS,
                what=f"the problem webhooks of the monitors that went wrong while {name} was down",
            )
        for path in failing.values():
            ping(path)
        wait_until(lambda: recovered() >= set(failing), timeout=ALERT_SECONDS, what="every recovered webhook")
        supervisor_lines = vigil.supervisor_lines()
        children_at_end = vigil.children()
    finally:
        vigil.stop()
        receiver.close()

    assert set(children_at_end) == set(CHILDREN)
    for name in CHILDREN:
        assert any(f"{name} exited (killed by SIGKILL)" in line for line in supervisor_lines), (
            supervisor_lines
        )
        assert any(f"{name} restarted" in line for line in supervisor_lines), supervisor_lines
    # One transition, one webhook-id: nothing was sent twice under different ids.
    for monitor_id in {*missing, *failing}:
        ids = {hook_id for m, event, hook_id in receiver.events() if m == monitor_id and event == "problem"}
        assert len(ids) == 1, (monitor_id, ids)


def test_a_child_that_keeps_failing_is_restarted_with_growing_delays() -> None:
    said: list[str] = []
    supervisor = Supervisor({"flaky": ["sh", "-c", "exit 3"]}, log=said.append)
    supervisor.start()
    deadline = time.monotonic() + 3 * BACKOFF_FIRST_SECONDS + 10
    while len([line for line in said if "exited" in line]) < 3 and time.monotonic() < deadline:
        supervisor.tend()
        time.sleep(0.05)
    supervisor.stopping = True
    supervisor.stop_all()
    exits = [line for line in said if "exited" in line]
    assert len(exits) == 3, said
    assert "exit code 3" in exits[0]
    assert "restarting in 1 s" in exits[0]
    assert "restarting in 2 s" in exits[1]
    assert "restarting in 4 s" in exits[2]
