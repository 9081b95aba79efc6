"""`make run` from a fresh copy of the repo: web, worker and beat come up on SQLite alone."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_copy(destination: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in files:
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.mark.smoke
@pytest.mark.timeout(STARTUP_SECONDS + 120)
def test_make_run_serves_web_worker_and_beat_from_a_fresh_copy(tmp_path: Path) -> None:
    checkout = fresh_copy(tmp_path / "vigil")
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SITE_URL"}
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = (tmp_path / "make-run.log").open("wb")
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        health: tuple[int, dict[str, object]] = (0, {})
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = get_json(f"{base}/healthz")
            except OSError:
                health = (0, {})
            if health[0] == 200:
                break
            time.sleep(1)
        output = (tmp_path / "make-run.log").read_text(errors="replace")
        assert health[0] == 200, output[-3000:]
        assert health[1]["status"] == "ok"
        assert f"http://127.0.0.1:{port}/" in output
        assert "createsuperuser" in output

        bootstrap = subprocess.run(
            [
                ".venv/bin/python",
                "manage.py",
                "vigil_bootstrap",
                "--email",
                "smoke@example.com",
                "--password",
                "pw-123456",
            ],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = bootstrap.stdout.strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        request = urllib.request.Request(
            f"{base}/api/v1/monitors/",
            data=json.dumps({"slug": "smoke"}).encode(),
            headers=auth,
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            monitor = json.loads(response.read())
        curl = subprocess.run(
            ["curl", "-fsS", "-m", "10", str(monitor["ping_url"])], capture_output=True, text=True
        )
        assert (curl.returncode, curl.stdout) == (0, "OK"), curl.stderr
        status, runs = get_json(f"{base}/api/v1/monitors/{monitor['id']}/runs/", auth)
        assert status == 200
        assert runs["count"] == 1
        assert (checkout / "var" / "vigil.sqlite3").exists()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    # Ctrl-C stops all three: nothing is left listening on the port.
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
