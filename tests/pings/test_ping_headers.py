"""Every ping answer is never cached and states Ping-Body-Limit (CONTRACT §2), as clients read it."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from django.test import Client

from monitors.models import Monitor
from pings.models import Ping, Run

pytestmark = pytest.mark.django_db

NEVER_CACHE = "no-cache, no-store, must-revalidate, private, max-age=0"
UNKNOWN = uuid.UUID("11111111-2222-4333-8444-555555555555")


def assert_ping_headers(response: Any, limit: int) -> None:
    assert response["Cache-Control"] == NEVER_CACHE
    assert response["Ping-Body-Limit"] == str(limit)
    assert response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/ping/{uuid}", 200),
        ("head", "/ping/{uuid}", 200),
        ("post", "/ping/{uuid}/start", 200),
        ("put", "/ping/{uuid}/0", 200),
        ("get", "/ping/{key}/{slug}/fail", 200),
        ("get", f"/ping/{UNKNOWN}", 404),
        ("get", "/ping/{key}/no-such-slug", 404),
        ("get", "/ping/{uuid}/256", 400),
        ("get", "/ping/{uuid}/sideways", 400),
        ("get", "/ping/{uuid}?rid=not-a-uuid", 400),
        ("get", "/ping/{uuid}/a/b/c", 400),
        ("get", "/ping/", 400),
        ("delete", "/ping/{uuid}", 405),
        ("patch", "/ping/{uuid}", 405),
        ("options", "/ping/{uuid}", 204),
        ("options", "/ping/a/b/c/d", 204),
    ],
)
def test_every_answer_carries_the_headers(
    client: Client, monitor: Monitor, settings: Any, method: str, path: str, status: int
) -> None:
    settings.PING_BODY_LIMIT = 12345
    target = path.format(uuid=monitor.ping_uuid, key=monitor.project.ping_key, slug=monitor.slug)
    response = getattr(client, method)(target)
    assert response.status_code == status, response.content
    assert_ping_headers(response, 12345)


def test_a_malformed_path_says_what_a_ping_url_looks_like(client: Client, monitor: Monitor) -> None:
    response = client.get(f"/ping/{monitor.ping_uuid}/start/now/please")
    assert response.status_code == 400
    assert b"/ping/<uuid>" in response.content
    assert not Ping.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_client_sizing_its_body_by_the_header_is_stored_whole(live_server: Any, monitor: Monitor) -> None:
    """What Healthchecks' clients (runitor, hc-ping wrappers) do: read the limit, send at most that much."""
    base = f"{live_server.url}/ping/{monitor.ping_uuid}"
    with urllib.request.urlopen(f"{base}/start", timeout=10) as response:
        assert response.headers["Cache-Control"] == NEVER_CACHE
        limit = int(response.headers["Ping-Body-Limit"])
    body = ("x" * 99 + "\n") * (limit // 100)
    request = urllib.request.Request(f"{base}/0", data=body.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Ping-Body-Limit"] == str(limit)
    run = Run.objects.get(monitor=monitor)
    assert (len(run.log), run.log_truncated) == (len(body), False)
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{live_server.url}/ping/{UNKNOWN}", timeout=10)
    assert missing.value.code == 404
    assert missing.value.headers["Ping-Body-Limit"] == str(limit)
    assert missing.value.headers["Cache-Control"] == NEVER_CACHE
