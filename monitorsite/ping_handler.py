"""The ping URLs' own way in: Django's WSGI handler without the site's middleware.

A ping is the request that comes thousands of times a second, and the site's middleware has
nothing to do for one: no cookie is read or set (sessions, authentication, messages, the
audit actor), the view is CSRF-exempt, it serves no static file, and it answers plain text
with its own headers and its own errors (pings.views: 400, 404, 405, 429, 503). Each of
those layers still ran on every ping, and together they cost more than the ping's own
Python. Everything else goes to the site's handler, middleware and all.

`/ping` and every path under `/ping/` are the ping URLs (pings.urls answers each of them,
a malformed one with a ping-shaped 400), so the split loses no route of the site's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch, get_resolver

PING_URLCONF = "pings.urls"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def is_ping_path(path_info: str) -> bool:
    return path_info == "/ping" or path_info.startswith("/ping/")


class PingHandler(WSGIHandler):
    """Django's WSGI handler (request signals, connection upkeep, the 400 and 500 pages)
    with no middleware but the Host check, resolving against the ping URLs only."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        self._middleware_chain = convert_exception_to_response(self._host_checked)

    def _host_checked(self, request: HttpRequest) -> HttpResponse:
        # The one check of the site's middleware a ping keeps (CommonMiddleware's): a Host
        # outside ALLOWED_HOSTS is a 400 (DisallowedHost), as for every other page.
        request.get_host()
        # What Django's own load_middleware wraps last (missing from the stubs).
        response: HttpResponse = self._get_response(request)  # type: ignore[attr-defined]
        return response

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        # Not `request.urlconf`: that would also become the urlconf `reverse` uses.
        match = get_resolver(PING_URLCONF).resolve(request.path_info)
        request.resolver_match = match
        return match


class SiteApplication:
    """The WSGI application: ping URLs to `pings`, everything else to `site`."""

    def __init__(self, site: WSGIApp, pings: WSGIApp) -> None:
        self.site = site
        self.pings = pings

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        handler = self.pings if is_ping_path(environ.get("PATH_INFO", "")) else self.site
        return handler(environ, start_response)
