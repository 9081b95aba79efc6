"""A running Vigil seen from outside, as the fault tests use it: its API, its ping URLs, and a
look straight into its database (our own PostgreSQL) for what was stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.faults.servers import Answer, PostgresServer, Process, http_request


@dataclass
class Site:
    web: Process
    api_key: str
    monitor_id: int
    ping_uuid: str
    slug: str
    ping_key: str
    status_key: str
    badge_key: str

    def get(self, path: str, method: str = "GET", body: bytes = b"", api: bool = False) -> Answer:
        headers = {"Authorization": f"Bearer {self.api_key}"} if api else {}
        return http_request(self.web.base_url, method, path, body=body, headers=headers)

    def api(self, method: str, path: str, payload: object | None = None) -> dict[str, Any]:
        body = json.dumps(payload).encode() if payload is not None else b""
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        answer = http_request(self.web.base_url, method, f"/api/v1/{path}", body=body, headers=headers)
        assert answer.status < 300, (answer.status, answer.text())
        return dict(json.loads(answer.body))

    def stored_pings(self) -> int:
        return int(self.api("GET", f"monitors/{self.monitor_id}/pings/")["count"])

    def webhook_channel(self, url: str) -> int:
        channel = self.api("POST", "channels/", {"kind": "webhook", "name": "hook", "config": {"url": url}})
        return int(channel["id"])

    def monitor(self, slug: str, *, seconds: int = 86400, grace: int = 3600, channels: list[int]) -> str:
        """A new monitor; its ping uuid."""
        monitor = self.api(
            "POST",
            "monitors/",
            {
                "name": slug,
                "slug": slug,
                "schedule": {"kind": "interval", "seconds": seconds},
                "grace_seconds": grace,
                "channels": channels,
            },
        )
        return str(monitor["ping_url"]).rsplit("/", 1)[-1]


def site_open(web: Process, api_key: str) -> Site:
    """The project behind `api_key` with one monitor, `nightly-backup`, on no channel."""
    partial = Site(web, api_key, 0, "", "", "", "", "")
    monitor = partial.api("POST", "monitors/", {"name": "Nightly backup", "slug": "nightly-backup"})
    project = partial.api("GET", "project/")
    return Site(
        web=web,
        api_key=api_key,
        monitor_id=int(monitor["id"]),
        ping_uuid=str(monitor["ping_url"]).rsplit("/", 1)[-1],
        slug="nightly-backup",
        ping_key=str(project["ping_key"]),
        status_key=str(project["status_key"]),
        badge_key=str(project["badge_key"]),
    )


def count(postgres: PostgresServer, sql: str) -> int:
    """One number from Vigil's database."""
    return int(postgres.psql(sql, database="vigil") or 0)
