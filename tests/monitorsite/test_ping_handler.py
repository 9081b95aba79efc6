"""The WSGI application sends ping URLs to a handler without the site's middleware
(monitorsite.ping_handler), and everything else to the site: the same answers either way."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from monitors.models import Monitor
from monitorsite.ping_handler import PingHandler, is_ping_path
from monitorsite.wsgi import application, site
from pings.models import Ping

pytestmark = pytest.mark.django_db

UNKNOWN = "11111111-2222-4333-8444-555555555555"
PING_HEADERS = (
    "Content-Length",
    "Content-Type",
    "Cache-Control",
    "Ping-Body-Limit",
    "Access-Control-Allow-Origin",
    "Retry-After",
)


class Answer:
    def __init__(self, app: Any, environ: dict[str, Any]) -> None:
        self.status = ""
        self.headers: dict[str, str] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            self.status = status
            self.headers = dict(headers)

        # As Django's test client does: the test's transaction holds the connection, which
        # the request signals would otherwise close (and the transaction with it).
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            body = app(environ, start_response)
            try:
                self.body = b"".join(body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    @property
    def code(self) -> int:
        return int(self.status.split()[0])


def environ(method: str, path: str, body: bytes = b"") -> dict[str, Any]:
    factory = RequestFactory()
    request = factory.generic(method, path, data=body, content_type="text/plain")
    return dict(request.environ)


def test_ping_paths_are_the_ping_urls_and_nothing_else() -> None:
    for path in ("/ping", "/ping/", "/ping/abc", "/ping/a/b/c/d"):
        assert is_ping_path(path), path
    for path in ("/", "/pings", "/pingx/abc", "/api/v1/ping/abc", "/healthz", "/monitors/ping/"):
        assert not is_ping_path(path), path


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", f"/ping/{UNKNOWN}", 404),
        ("GET", "/ping/{key}/no-such-slug", 404),
        ("GET", "/ping/{uuid}/256", 400),
        ("GET", "/ping/{uuid}?rid=not-a-uuid", 400),
        ("GET", "/ping/{uuid}/a/b/c", 400),
        ("GET", "/ping/", 400),
        ("GET", "/ping", 400),
        ("DELETE", "/ping/{uuid}", 405),
        ("OPTIONS", "/ping/{uuid}", 204),
    ],
)
def test_an_answer_that_stores_nothing_is_the_sites_answer(
    monitor: Monitor, method: str, path: str, code: int
) -> None:
    target = path.format(uuid=monitor.ping_uuid, key=monitor.project.ping_key)
    lean = Answer(application, environ(method, target))
    full = Answer(site, environ(method, target))
    assert lean.code == full.code == code, lean.body
    assert lean.body == full.body
    assert {name: lean.headers.get(name) for name in PING_HEADERS} == {
        name: full.headers.get(name) for name in PING_HEADERS
    }
    assert "Set-Cookie" not in lean.headers
    assert not Ping.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "/ping/{uuid}", "success"),
        ("HEAD", "/ping/{uuid}/start", "start"),
        ("POST", "/ping/{uuid}/fail", "fail"),
        ("PUT", "/ping/{key}/{slug}/0", "exit"),
        ("POST", "/ping/{key}/{slug}/log", "log"),
    ],
)
def test_a_ping_through_the_application_is_stored(
    monitor: Monitor, method: str, path: str, kind: str
) -> None:
    target = path.format(uuid=monitor.ping_uuid, key=monitor.project.ping_key, slug=monitor.slug)
    answer = Answer(application, environ(method, target, b"done: 3 rows"))
    assert answer.code == 200, answer.body
    assert answer.body == (b"" if method == "HEAD" else b"OK")
    assert answer.headers["Content-Length"] == str(len(answer.body))
    assert answer.headers["Cache-Control"].startswith("no-cache")
    ping = Ping.objects.get(monitor=monitor)
    assert (ping.kind, ping.method) == (kind, method)


def test_a_ping_created_by_slug_goes_through_the_application(monitor: Monitor) -> None:
    path = f"/ping/{monitor.project.ping_key}/brand-new-job?create=1"
    assert Answer(application, environ("GET", path)).code == 200
    created = Monitor.objects.get(project=monitor.project, slug="brand-new-job")
    assert Ping.objects.filter(monitor=created).count() == 1


class Unreadable(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise OSError("client went away")


def test_a_body_that_stops_arriving_is_a_ping_answer_400(monitor: Monitor) -> None:
    request = environ("POST", f"/ping/{monitor.ping_uuid}", b"x" * 100)
    request["wsgi.input"] = Unreadable()
    answer = Answer(application, request)
    assert answer.code == 400
    assert answer.body.startswith(b"request body not received")
    assert answer.headers["Ping-Body-Limit"]
    assert not Ping.objects.exists()


def test_other_paths_reach_the_site_with_its_middleware(client: Any) -> None:
    answer = Answer(application, environ("GET", "/healthz"))
    assert answer.code in (200, 503), answer.body
    # The site's middleware ran: pages may not be framed.
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert Answer(application, environ("GET", "/pingx")).code == 404


def test_the_ping_handler_runs_no_middleware() -> None:
    handler = PingHandler()
    assert handler._view_middleware == []
    assert handler._exception_middleware == []


def test_a_host_outside_allowed_hosts_is_refused_as_on_every_page(monitor: Monitor, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["vigil.example.com"]
    request = environ("GET", f"/ping/{monitor.ping_uuid}")
    request["HTTP_HOST"] = "evil.example.net"
    assert Answer(application, request).code == 400
    assert Answer(site, dict(request)).code == 400
    assert not Ping.objects.exists()
    request["HTTP_HOST"] = "vigil.example.com"
    assert Answer(application, request).code == 200
    assert Ping.objects.count() == 1
