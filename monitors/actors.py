"""Who is acting: a signed-in user (web UI), an API key (REST API), or the command line.

Every write service asks `current_actor()`; entry points set it: `ActorMiddleware` for each
HTTP request (the session's user, resolved only when a service asks, so the ping path pays
nothing), the API's key authentication (`monitors.api_auth`) once it knows the key, and
management commands through `acting_as(cli_actor())`. Code that sets nothing (the shell, a
management command, tests calling services directly) acts as the command line.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse

from monitors.models import ApiKey, AuditVia
from monitorsite.client_address import client_address


class Actor:
    """One acting party. `user` and `address` are read from the request at first use."""

    def __init__(
        self,
        *,
        via: AuditVia,
        user: User | None = None,
        api_key: ApiKey | None = None,
        address: str = "",
        cli_name: str = "",
        request: HttpRequest | None = None,
    ) -> None:
        self.via = via
        self.api_key = api_key
        self.cli_name = cli_name
        self._user = user
        self._address = address
        self._request = request

    @cached_property
    def user(self) -> User | None:
        if self._request is not None and self._user is None:
            user = getattr(self._request, "user", None)
            return user if isinstance(user, User) and user.is_authenticated else None
        return self._user

    @cached_property
    def address(self) -> str:
        if self._request is not None:
            return client_address(self._request.META)
        return self._address

    def __repr__(self) -> str:
        who = self.api_key.prefix if self.api_key else (self.user.email if self.user else self.cli_name)
        return f"<Actor {self.via} {who}>"


def cli_actor() -> Actor:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = ""
    return Actor(via=AuditVia.CLI, cli_name=name)


def ui_actor(request: HttpRequest) -> Actor:
    return Actor(via=AuditVia.UI, request=request)


# The `vigil` command-line client (`vigil trigger`, `vigil stats`) says so in its User-Agent.
CLIENT_USER_AGENT_PREFIX = "vigil-client/"


def api_actor(request: HttpRequest, api_key: ApiKey) -> Actor:
    """A key acting through the API: `cli` when the request comes from the `vigil` client."""
    agent = str(request.META.get("HTTP_USER_AGENT", ""))
    via = AuditVia.CLI if agent.startswith(CLIENT_USER_AGENT_PREFIX) else AuditVia.API
    return Actor(via=via, api_key=api_key, request=request)


_current: ContextVar[Actor | None] = ContextVar("vigil_actor", default=None)


def current_actor() -> Actor:
    actor = _current.get()
    return actor if actor is not None else cli_actor()


def set_actor(actor: Actor) -> None:
    """For an entry point already inside `acting_as` (the API's authentication, within a request)."""
    _current.set(actor)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


class ActorMiddleware:
    """Each request acts as its signed-in user (`ui`) until the API's authentication says otherwise."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with acting_as(ui_actor(request)):
            return self.get_response(request)
