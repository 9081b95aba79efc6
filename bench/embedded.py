"""Vigil's embedded mode as `make run` starts it (`manage.py runall` on SQLite), driven from outside.

Used by bench/soak.py and by the tests that kill its processes or hold its connections:
this checkout's venv, its own var dir and port, a loopback webhook receiver, the REST API
over real HTTP. Linux only (children are found and measured through /proc).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from bench.sink_server import SinkServer

ROOT = Path(__file__).resolve().parent.parent
CHILDREN = ("web", "worker", "housekeeping", "beat")
STOP_SECONDS = 30
LOG_PROBLEMS = re.compile(r"Traceback|\bERROR\b|\bCRITICAL\b|WORKER TIMEOUT")
# Environment that would point the embedded mode elsewhere than its own var dir.
FOREIGN_ENV = ("DATABASE_URL", "REDIS_URL", "SITE_URL", "VIGIL_SQLITE_PATH", "VIGIL_VAR_DIR", "PORT")


class EmbeddedError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    event: str
    monitor_id: int | None
    received_at: float


class WebhookReceiver:
    """A loopback HTTP server that answers every POST with 204 and keeps what it got."""

    def __init__(self) -> None:
        self.received: list[Webhook] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {}
                monitor = payload.get("monitor") or {}
                webhook = Webhook(
                    webhook_id=self.headers.get("webhook-id", ""),
                    event=str(payload.get("event", "")),
                    monitor_id=monitor.get("id"),
                    received_at=time.monotonic(),
                )
                with receiver._lock:
                    receiver.received.append(webhook)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: a line per POST would bury the report."""

        self._server = SinkServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def events(self) -> set[tuple[int | None, str, str]]:
        """Distinct (monitor id, event, webhook-id): a redelivery under the same id counts once."""
        with self._lock:
            return {(hook.monitor_id, hook.event, hook.webhook_id) for hook in self.received}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class EmbeddedVigil:
    """`manage.py runall` from this checkout, on SQLite in `var_dir`, at http://127.0.0.1:<port>."""

    def __init__(self, var_dir: Path, *, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.var_dir = var_dir
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = var_dir / "runall.log"
        self.api_key = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {key: value for key, value in os.environ.items() if key not in FOREIGN_ENV}
        self.env.update(
            VIGIL_VAR_DIR=str(var_dir),
            PORT=str(self.port),
            SITE_URL=self.base_url,
            DJANGO_SETTINGS_MODULE="monitorsite.settings",
            PYTHONUNBUFFERED="1",
            **(env or {}),
        )

    # --- life cycle -----------------------------------------------------------------------

    def start(self, *, timeout: float = 180) -> None:
        """Migrate, start runall, and return once /healthz answers 200 (the sweeper runs)."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput", "-v", "0")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runall", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.wait_healthy(timeout=timeout)

    def wait_healthy(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        status = 0
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EmbeddedError(f"runall exited with {self.process.returncode}:\n{self.log_tail()}")
            status, _ = self.request("GET", "/healthz")
            if status == 200:
                return
            time.sleep(0.5)
        raise EmbeddedError(f"/healthz still {status} after {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> int | None:
        """Ctrl-C, as a user would; SIGKILL if runall has not stopped everything within STOP_SECONDS."""
        if self.process is None:
            return None
        return stop_session(self.process)

    def __enter__(self) -> EmbeddedVigil:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise EmbeddedError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    # --- HTTP -----------------------------------------------------------------------------

    def bootstrap(self, email: str = "soak@example.com", password: str = "soak-password-1") -> str:
        """A user and a project; keeps the project's API key for `api`."""
        output = self.manage("vigil_bootstrap", "--email", email, "--password", password)
        self.api_key = output.strip().splitlines()[-1]
        return self.api_key

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """One request on a new connection; status 0 when the server could not be reached."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        except OSError:
            return 0, b""
        finally:
            connection.close()

    def api(self, method: str, path: str, data: dict[str, Any] | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        body = json.dumps(data).encode() if data is not None else None
        status, raw = self.request(method, f"/api/v1/{path}", body, headers)
        return status, json.loads(raw) if raw else None

    def create(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        status, created = self.api("POST", path, data)
        if status != 201:
            raise EmbeddedError(f"POST {path} answered {status}: {created}")
        return dict(created)

    # --- its processes --------------------------------------------------------------------

    def children(self) -> dict[str, int]:
        """The pid of each process runall started, by name (see runall's process_commands)."""
        if self.process is None:
            return {}
        found = {}
        for pid, cmdline in _processes_with_parent(self.process.pid):
            name = _child_name(cmdline)
            if name is not None:
                found[name] = pid
        return found

    def memory(self) -> dict[str, int]:
        """Resident bytes of each child with its own children (gunicorn's and Celery's pools)."""
        return {name: _group_rss(pid) for name, pid in self.children().items()}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log()[-chars:]

    def supervisor_lines(self) -> list[str]:
        """What runall said about children exiting and restarting."""
        return [line for line in self.log().splitlines() if "runall:" in line]

    def problem_lines(self) -> list[str]:
        return [line for line in self.log().splitlines() if LOG_PROBLEMS.search(line)]


def stop_session(process: subprocess.Popen[bytes]) -> int:
    """Ctrl-C to a process started with start_new_session (and its group); SIGKILL after STOP_SECONDS."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


def _processes_with_parent(parent: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # The command name in parentheses may hold spaces; the fields after it do not.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == parent and fields[0] != "Z":
            found.append((int(entry.name), cmdline))
    return found


def _child_name(cmdline: str) -> str | None:
    if "gunicorn" in cmdline:
        return "web"
    if "celery" not in cmdline:
        return None
    if " beat" in cmdline:
        return "beat"
    return "housekeeping" if "-Q housekeeping" in cmdline else "worker"


def group_members(pgid: int) -> list[int]:
    """The live processes of a process group (runall gives each child its own)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _group_rss(pgid: int) -> int:
    total = 0
    for pid in group_members(pgid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            total += int(match.group(1)) * 1024
    return total
