"""A fake Healthchecks Management API v3 on 127.0.0.1, serving answers in Healthchecks' own shapes.

The check dicts follow hc.api.models.Check.to_dict(v=3): a read-write key gets `uuid`,
`ping_url`, `update_url`, … and `channels`; a read-only key gets `unique_key` instead.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RW_KEY = "rw" + "A" * 30
RO_KEY = "ro" + "B" * 30
PING_KEY = "Hq3kYb2N5kVqW8xZt7cRpA"
PING_ENDPOINT = "https://hc-ping.com/"
SITE = "https://healthchecks.example.com"

EMAIL_CHANNEL = "4ec5a071-2d08-4baa-898a-eb4eb3cd6941"
SLACK_CHANNEL = "746a083e-f542-4554-be1a-707ce16d3acc"
DISCORD_CHANNEL = "1b9e8c2f-0d1a-4f6e-8a3b-5c7d9e0f1a2b"

UUIDS = {
    "interval": "5b5f4d48-7c8e-4b8e-9a53-2f0d7cbb1f11",
    "cron": "0f2a4f86-3b5e-4e0c-b6d3-6c9b7a1e2d31",
    "paused": "a7c1d9e2-5f3b-4a8d-9c6e-1b2f3a4d5e61",
    "new": "c3d4e5f6-7a8b-4c9d-8e0f-1a2b3c4d5e71",
    "no_slug": "d4e5f6a7-8b9c-4d0e-9f1a-2b3c4d5e6f81",
    "filters": "e5f6a7b8-9c0d-4e1f-8a2b-3c4d5e6f7a91",
    "post_only": "f6a7b8c9-0d1e-4f2a-9b3c-4d5e6f7a8b01",
    "oncalendar": "a8b9c0d1-2e3f-4a4b-8c5d-6e7f8a9b0c11",
}


def _check(key: str, **fields: Any) -> dict[str, Any]:
    code = UUIDS[key]
    base = {
        "name": "",
        "slug": "",
        "tags": "",
        "desc": "",
        "grace": 3600,
        "n_pings": 12,
        "status": "up",
        "started": False,
        "last_ping": "2026-03-01T03:00:02+00:00",
        "next_ping": "2026-03-02T03:00:02+00:00",
        "manual_resume": False,
        "methods": "",
        "subject": "",
        "subject_fail": "",
        "start_kw": "",
        "success_kw": "",
        "failure_kw": "",
        "filter_subject": False,
        "filter_body": False,
        "filter_http_body": False,
        "filter_default_fail": False,
        "badge_url": f"{SITE}/b/2/{code}.svg",
        "uuid": code,
        "ping_url": PING_ENDPOINT + code,
        "update_url": f"{SITE}/api/v3/checks/{code}",
        "pause_url": f"{SITE}/api/v3/checks/{code}/pause",
        "resume_url": f"{SITE}/api/v3/checks/{code}/resume",
        "channels": EMAIL_CHANNEL,
    }
    return {**base, **fields}


CHECKS = [
    _check(
        "interval",
        name="Nightly backup",
        slug="nightly-backup",
        tags="prod db",
        desc="Copies the orders database to S3.",
        grace=900,
        timeout=86400,
        last_duration=312,
        channels=f"{EMAIL_CHANNEL},{SLACK_CHANNEL}",
    ),
    _check(
        "cron",
        name="Invoice run",
        slug="invoice-run",
        tags="billing",
        grace=1800,
        schedule="30 2 * * 1-5",
        tz="Europe/Berlin",
        manual_resume=True,
        channels=SLACK_CHANNEL,
    ),
    _check("paused", name="Old cleanup", slug="old-cleanup", status="paused", timeout=3600, grace=300),
    _check("new", name="Fresh job", slug="fresh-job", status="new", timeout=600, grace=60, last_ping=None),
    _check("no_slug", name="Report mailer", slug="", timeout=7200, grace=600, channels=""),
    _check(
        "filters",
        name="ETL",
        slug="etl",
        timeout=3600,
        grace=600,
        success_kw="ETL finished, all good",
        failure_kw="Traceback,ERROR",
        start_kw="ETL starting",
        filter_http_body=True,
        channels=DISCORD_CHANNEL,
    ),
    _check("post_only", name="Webhook relay", slug="webhook-relay", timeout=300, grace=60, methods="POST"),
    _check(
        "oncalendar",
        name="Calendar job",
        slug="calendar-job",
        schedule="Mon..Fri 09:00",
        tz="UTC",
    ),
]

CHANNELS = [
    {"id": EMAIL_CHANNEL, "name": "Ops e-mail", "kind": "email"},
    {"id": SLACK_CHANNEL, "name": "#alerts", "kind": "slack"},
    {"id": DISCORD_CHANNEL, "name": "Data team", "kind": "discord"},
]


def read_only(check: dict[str, Any]) -> dict[str, Any]:
    """What Healthchecks shows a read-only key: no uuid, ping or API URLs, channels; a unique_key."""
    hidden = {"uuid", "ping_url", "update_url", "pause_url", "resume_url", "channels"}
    shown = {key: value for key, value in check.items() if key not in hidden}
    shown["unique_key"] = hashlib.sha1(check["uuid"].replace("-", "")[:16].encode()).hexdigest()
    return shown


class FakeHealthchecks:
    """Serves /api/v3/checks/ and /api/v3/channels/; `mode` breaks it on purpose."""

    def __init__(self) -> None:
        self.checks = copy.deepcopy(CHECKS)
        self.mode = "ok"  # "html", "500", "garbage-shape"
        self.requests: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, path: str, api_key: str) -> tuple[int, str, bytes]:
        self.requests.append((path, api_key))
        if self.mode == "html":
            return 200, "text/html", b"<!doctype html><title>Welcome</title>"
        if self.mode == "500":
            return 500, "text/html", b"<h1>Server Error (500)</h1>"
        if api_key not in (RW_KEY, RO_KEY):
            return 401, "application/json", json.dumps({"error": "wrong api key"}).encode()
        if path.rstrip("/") == "/api/v3/checks":
            if self.mode == "garbage-shape":
                return 200, "application/json", b'{"checks": "none"}'
            checks = self.checks if api_key == RW_KEY else [read_only(check) for check in self.checks]
            return 200, "application/json", json.dumps({"checks": checks}).encode()
        if path.rstrip("/") == "/api/v3/channels":
            if api_key == RO_KEY:  # Healthchecks lists channels for read-write keys only
                return 401, "application/json", json.dumps({"error": "wrong api key"}).encode()
            return 200, "application/json", json.dumps({"channels": CHANNELS}).encode()
        return 404, "text/html", b"not found"

    def __enter__(self) -> FakeHealthchecks:
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_for(fake: FakeHealthchecks) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = fake.answer(self.path, self.headers.get("X-Api-Key", ""))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
