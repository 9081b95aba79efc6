"""The threaded worker drops a client that goes silent for gunicorn's timeout, and frees its thread.

Real gunicorn with the shared config, squeezed to one worker of two threads and a 2 s
timeout: two stalled clients hold both threads, a third request waits, and once the
timeout passes the stalled ones are answered (400) or closed and the third is served.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from bench.embedded import ROOT, free_port, stop_session

TIMEOUT_SECONDS = 2


def read_all(connection: socket.socket, *, timeout: float) -> bytes:
    connection.settimeout(timeout)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except TimeoutError:
        pass
    return received


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_clients_silent_past_the_timeout_are_dropped_and_free_their_threads(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env["VIGIL_VAR_DIR"] = str(tmp_path / "var")
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "monitorsite.wsgi",
                "--config",
                "python:monitorsite.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "2",
                "--timeout",
                str(TIMEOUT_SECONDS),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_any_answer(port, server, log_path)
        stalled_body = socket.create_connection(("127.0.0.1", port))
        stalled_body.sendall(
            f"POST /ping/{uuid.uuid4()} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc".encode()
        )
        stalled_headers = socket.create_connection(("127.0.0.1", port))
        stalled_headers.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.3)
        waiting = socket.create_connection(("127.0.0.1", port))
        waiting.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        # Both threads are held: the third request is accepted but not served yet.
        assert read_all(waiting, timeout=0.5) == b""

        answer = read_all(stalled_body, timeout=TIMEOUT_SECONDS * 5)
        assert answer.startswith(b"HTTP/1.1 400"), answer
        assert b"request body not received" in answer
        assert read_all(stalled_headers, timeout=TIMEOUT_SECONDS * 5) == b""
        assert read_all(waiting, timeout=TIMEOUT_SECONDS * 5).startswith(b"HTTP/1.1 ")
    finally:
        stop_session(server)
    assert b"Internal Server Error" not in log_path.read_bytes()


def _wait_for_any_answer(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as probe:
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if read_all(probe, timeout=5).startswith(b"HTTP/1.1 "):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within 60 s:\n{log.read_text()}")
