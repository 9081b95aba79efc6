"""A fake Vigil server on 127.0.0.1 and helpers to run the real `vigil` command against it.

The server records every request and can be scripted (answer 500 twice, then normally). It
serves ping URLs and enough of /api/v1/ (paginated monitors, runs, the runs feed, stats,
channels, project) for the CLI's API commands. Nothing here needs Django or a database.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CLIENT_DIR = REPO / "client"
API_KEY = "test-api-key"
PING_KEY = "test-ping-key"

# The SDK and Celery tests import vigil_client in-process.
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def rid(self) -> str | None:
        return self.query.get("rid", [None])[0]


@dataclass
class Scripted:
    prefix: str
    status: int
    times: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # Seconds to wait before answering (a slow server).


class FakeVigil:
    """State and behaviour of the fake server; the handler below only forwards to it."""

    page_size = 2  # Small, so every list the CLI reads spans several pages.

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.script: list[Scripted] = []
        self.monitors: list[dict[str, Any]] = []
        self.runs: dict[int, list[dict[str, Any]]] = {}
        self.stats: dict[int, dict[str, Any]] = {}
        self.channels: list[dict[str, Any]] = [
            {"id": 1, "kind": "slack", "name": "ops-slack", "config": {}},
            {"id": 2, "kind": "email", "name": "oncall-email", "config": {}},
        ]
        self.project = {
            "id": 1,
            "name": "Test",
            "ping_key": PING_KEY,
            "status_key": "s",
            "status_url": "",
            "badge_key": "b",
        }
        self.next_id = 100
        self.url = ""
        # Sent as `Ping-Body-Limit` on every ping answer when set (Vigil's own servers do).
        self.ping_body_limit: int | None = None

    # ---- scripting and inspection ---------------------------------------------------------

    def fail(self, prefix: str = "/ping/", status: int = 500, times: int = 1, **kw: Any) -> None:
        """Answer the next `times` requests under `prefix` with `status` (0: the normal answer,
        useful with delay=)."""
        with self.lock:
            self.script.append(Scripted(prefix, status, times, **kw))

    def add_monitor(self, slug: str, **fields: Any) -> dict[str, Any]:
        monitor: dict[str, Any] = {
            "id": self._new_id(),
            "name": slug,
            "slug": slug,
            "description": "",
            "tags": [],
            "schedule": {"kind": "interval", "seconds": 86400},
            "grace_seconds": 3600,
            "max_duration_seconds": None,
            "failure_threshold": 1,
            "recovery_threshold": 1,
            "allow_overlap": False,
            "rules": [],
            "channels": [],
            "status": "new",
            "ping_url": f"{self.url}/ping/{slug}",
            "last_ping_at": None,
            "next_due_at": None,
            "last_duration_ms": None,
        }
        monitor.update(fields)
        with self.lock:
            self.monitors.append(monitor)
            self.runs.setdefault(monitor["id"], [])
        return monitor

    def pings(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith("/ping/")]

    def api_writes(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith("/api/") and r.method != "GET"]

    def wait_for_pings(self, count: int, timeout: float = 5.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pings = self.pings()
            if len(pings) >= count:
                return pings
            time.sleep(0.02)
        return self.pings()

    def _new_id(self) -> int:
        with self.lock:
            self.next_id += 1
            return self.next_id

    # ---- request handling -------------------------------------------------------------------

    def handle(self, req: BaseHTTPRequestHandler) -> tuple[int, bytes, dict[str, str]]:
        parts = urllib.parse.urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        record = Recorded(
            req.command, parts.path, urllib.parse.parse_qs(parts.query), dict(req.headers.items()), body
        )
        chosen: Scripted | None = None
        with self.lock:
            self.requests.append(record)
            for scripted in self.script:
                if scripted.times > 0 and parts.path.startswith(scripted.prefix):
                    scripted.times -= 1
                    chosen = scripted
                    break
        if chosen is not None:
            time.sleep(chosen.delay)
            if chosen.status:
                return chosen.status, chosen.body, chosen.headers
        if parts.path.startswith("/ping/"):
            headers = {"Content-Type": "text/plain"}
            if self.ping_body_limit is not None:
                headers["Ping-Body-Limit"] = str(self.ping_body_limit)
            return 200, b"OK", headers
        if parts.path.startswith("/api/v1/"):
            if req.headers.get("Authorization") != f"Bearer {API_KEY}":
                return _json(401, {"detail": "Invalid API key."})
            return self._api(req.command, parts.path[len("/api/v1/") :], record)
        return 404, b"not found", {}

    def _api(self, method: str, path: str, record: Recorded) -> tuple[int, bytes, dict[str, str]]:
        segments = [s for s in path.split("/") if s]
        if segments == ["project"] and method == "GET":
            return _json(200, self.project)
        if segments == ["channels"] and method == "GET":
            return _json(200, self._page(self.channels, record))
        if segments == ["runs"] and method == "GET":
            return _json(200, self._page(self._feed(record.query), record))
        if segments == ["monitors"]:
            if method == "GET":
                return _json(200, self._page(self._filtered(record.query), record))
            if method == "POST":
                data = record.json()
                if any(m["slug"] == data.get("slug") for m in self.monitors):
                    return _json(400, {"slug": ["A monitor with this slug already exists."]})
                return _json(201, self.add_monitor(data.pop("slug"), **data))
        if len(segments) >= 2 and segments[0] == "monitors":
            monitor = next((m for m in self.monitors if str(m["id"]) == segments[1]), None)
            if monitor is None:
                return _json(404, {"detail": "Not found."})
            if segments[2:] == ["runs"] and method == "GET":
                return _json(200, self._page(self.runs.get(monitor["id"], []), record))
            if segments[2:] == ["stats"] and method == "GET":
                return _json(200, self.stats.get(monitor["id"], NO_STATS))
            if len(segments) == 2 and method == "GET":
                return _json(200, monitor)
            if len(segments) == 2 and method == "PATCH":
                monitor.update(record.json())
                return _json(200, monitor)
            if len(segments) == 2 and method == "DELETE":
                with self.lock:
                    self.monitors.remove(monitor)
                return 204, b"", {}
        return _json(405, {"detail": f"{method} not allowed"})

    def _feed(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        """`runs/`: every monitor's runs with their monitor, newest first, filtered like Vigil's."""
        wanted = {name: values[0] for name, values in query.items() if values[0] and name != "page"}
        runs = []
        for monitor in self.monitors:
            if wanted.get("monitor", str(monitor["id"])) != str(monitor["id"]):
                continue
            if "tag" in wanted and wanted["tag"] not in monitor["tags"]:
                continue
            ref = {"id": monitor["id"], "name": monitor["name"], "slug": monitor["slug"]}
            runs += [{**run, "monitor": ref} for run in self.runs.get(monitor["id"], [])]
        if "status" in wanted:
            runs = [run for run in runs if run["status"] == wanted["status"]]
        if "since" in wanted:
            since = datetime.now(UTC) - timedelta(hours=int(wanted["since"].rstrip("h")))
            runs = [r for r in runs if datetime.fromisoformat(r["finished_at"] or r["started_at"]) >= since]
        return sorted(runs, key=lambda run: -run["id"])

    def _filtered(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        result = list(self.monitors)
        if "tag" in query:
            result = [m for m in result if query["tag"][0] in m["tags"]]
        if "status" in query:
            result = [m for m in result if m["status"] == query["status"][0]]
        if "q" in query:
            q = query["q"][0].lower()
            result = [m for m in result if q in m["slug"].lower() or q in m["name"].lower()]
        return result

    def _page(self, items: list[dict[str, Any]], record: Recorded) -> dict[str, Any]:
        page = int(record.query.get("page", ["1"])[0])
        start = (page - 1) * self.page_size
        chunk = items[start : start + self.page_size]

        def link(n: int) -> str:
            query = {k: v[0] for k, v in record.query.items()}
            query["page"] = str(n)
            return f"{self.url}{record.path}?{urllib.parse.urlencode(query)}"

        return {
            "count": len(items),
            "next": link(page + 1) if start + self.page_size < len(items) else None,
            "previous": link(page - 1) if page > 1 else None,
            "results": chunk,
        }


NO_STATS = {
    "success_rate": {"24h": None, "7d": None, "30d": None},
    "duration_ms": {"p50": None, "p95": None},
    "failures_24h": 0,
    "last_failure": None,
}


def _json(status: int, data: Any) -> tuple[int, bytes, dict[str, str]]:
    return status, json.dumps(data).encode(), {"Content-Type": "application/json"}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _dispatch(self) -> None:
        status, body, headers = self.server.vigil.handle(self)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass  # Keep test output clean.


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    vigil: FakeVigil


@pytest.fixture
def fake_vigil() -> Iterator[FakeVigil]:
    vigil = FakeVigil()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.vigil = vigil
    vigil.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval: shutdown() waits up to one interval, at every test teardown.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield vigil
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env["PYTHONPATH"] = str(CLIENT_DIR)
    env.update(extra)
    return env


VigilRunner = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def vigil(fake_vigil: FakeVigil) -> VigilRunner:
    """Run `vigil ARGS...` as a real process against the fake server; bytes in, bytes out."""

    def run(
        *args: str,
        env: dict[str, str] | None = None,
        input: bytes | None = None,
        timeout: float = 30,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        full_env = client_env(
            VIGIL_SERVER=fake_vigil.url, VIGIL_API_KEY=API_KEY, VIGIL_PING_KEY=PING_KEY, VIGIL_TIMEOUT="5"
        )
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "vigil_client", *args],
            env=full_env,
            input=input,
            capture_output=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
        )

    return run
