"""The ping endpoint (CONTRACT §2): parse the URL and body, record, answer in plain text."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from monitors.models import Project
from monitors.services import monitor_get_or_create_by_slug
from monitorsite.client_address import client_address
from monitorsite.database_outage import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from monitorsite.unreadable_body import body_not_received
from pings.body import PingBody, read_body, typed_query_value, validate_meta_key, validate_meta_value
from pings.errors import PingError
from pings.models import PingKind
from pings.rate_limit import retry_after_seconds
from pings.services import (
    PingInput,
    Recorded,
    parse_rid,
    ping_record_by_id,
    ping_record_by_slug,
    ping_record_by_uuid,
)

ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT")
SLUG = re.compile(r"[a-z0-9_-]{1,100}")
# ASCII digits only: str.isdigit() also takes "²" and "٣", which int() then refuses or reads.
EXIT_STATUS = re.compile(r"-?[0-9]+")
ACTIONS = {"start": PingKind.START, "fail": PingKind.FAIL, "log": PingKind.LOG}
MAX_EXIT_STATUS = 255
# What a reason repeats of the client's input, at most.
ECHO_CHARS = 40


# Every directive a cache might heed: some in between honour no-cache but not no-store.
NEVER_CACHE = "no-cache, no-store, must-revalidate, private, max-age=0"


def _text(body: str, status: int) -> HttpResponse:
    """Every ping answer: Healthchecks' clients read Ping-Body-Limit to size what they send."""
    response = HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = NEVER_CACHE
    response["Ping-Body-Limit"] = str(settings.PING_BODY_LIMIT)
    # Framed by its length, not chunked: the site's CommonMiddleware set it for every page,
    # and ping answers skip that middleware (monitorsite.ping_handler).
    response["Content-Length"] = str(len(response.content))
    return response


def _preflight() -> HttpResponse:
    response = _text("", 204)
    response["Access-Control-Allow-Methods"] = ", ".join((*ALLOWED_METHODS, "OPTIONS"))
    response["Access-Control-Allow-Headers"] = "Content-Type, User-Agent"
    response["Access-Control-Max-Age"] = "86400"
    return response


def parse_action(action: str | None) -> tuple[PingKind, int | None]:
    if action is None or action == "":
        return PingKind.SUCCESS, None
    if action in ACTIONS:
        return ACTIONS[action], None
    if EXIT_STATUS.fullmatch(action):
        digits = action.lstrip("0") or "0"
        code = int(digits) if len(digits) <= 3 and not action.startswith("-") else None
        if code is None or not 0 <= code <= MAX_EXIT_STATUS:
            raise PingError(f"exit status must be between 0 and {MAX_EXIT_STATUS}, got {action[:ECHO_CHARS]}")
        return PingKind.EXIT, code
    raise PingError(
        f"unknown ping action {action[:ECHO_CHARS]!r}: use start, fail, log or an exit status "
        f"0-{MAX_EXIT_STATUS}"
    )


def _printable(text: str) -> str:
    """Header text as it can be stored: control characters (NUL among them) dropped."""
    return text if text.isprintable() else "".join(char for char in text if char.isprintable())


def _query_meta(request: HttpRequest, body: PingBody) -> None:
    for name, value in request.GET.items():
        if name.startswith("meta.") and isinstance(value, str):
            key = name[len("meta.") :]
            validate_meta_key(key)
            body.meta[key] = typed_query_value(value)
            validate_meta_value(key, body.meta[key])


def _ping_input(request: HttpRequest, action: str | None) -> PingInput:
    kind, exit_code = parse_action(action)
    rid = parse_rid(request.GET.get("rid"))
    body = read_body(request, limit=settings.PING_BODY_LIMIT)
    _query_meta(request, body)
    return PingInput(
        kind=kind,
        exit_code=exit_code,
        rid=rid,
        body=body,
        method=request.method or "GET",
        remote_addr=client_address(request.META),
        user_agent=_printable(request.META.get("HTTP_USER_AGENT", "")),
    )


def _answer(request: HttpRequest, recorded: Recorded, now: datetime) -> HttpResponse:
    if recorded is Recorded.NO_MONITOR:
        return _text("not found", 404)
    if recorded is Recorded.REFUSED:
        limit = settings.PING_RATE_LIMIT_PER_MINUTE
        reason = f"rate limit: this monitor takes {limit} pings a minute; the ping was not stored"
        response = _text(reason, 429)
        response["Retry-After"] = str(retry_after_seconds(now))
        return response
    return _text("" if request.method == "HEAD" else "OK", 200)


@csrf_exempt
def ping(
    request: HttpRequest, first: str, second: str | None = None, third: str | None = None
) -> HttpResponse:
    if request.method == "OPTIONS":
        return _preflight()
    if request.method not in ALLOWED_METHODS:
        response = _text(f"method {request.method} not allowed", 405)
        response["Allow"] = ", ".join((*ALLOWED_METHODS, "OPTIONS"))
        return response
    try:
        return _dispatch(request, first, second, third)
    except PingError as error:
        return _text(error.reason, error.status)
    except UnreadablePostError as error:
        # The client stopped sending its body (monitorsite.gunicorn_worker's timeout).
        return _text(body_not_received(error), 400)
    except DATABASE_UNAVAILABLE:
        # The database is down or restarting: nothing was stored, and the client may retry.
        response = _text("database unavailable: the ping was not stored, try again shortly", 503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


@csrf_exempt
def malformed_ping_url(request: HttpRequest) -> HttpResponse:
    """Any other path under /ping: a ping answer too (headers included), not the site's 404 page."""
    if request.method == "OPTIONS":
        return _preflight()
    return _text(
        "malformed ping URL: use /ping/<uuid>[/start|/fail|/log|/<exit status>] "
        "or /ping/<ping key>/<slug>[/start|/fail|/log|/<exit status>]",
        400,
    )


def _dispatch(request: HttpRequest, first: str, second: str | None, third: str | None) -> HttpResponse:
    # The query string is UTF-8 whatever charset the body's Content-Type names (Django would
    # decode it with that charset, and a UTF-16 body would hide the rid and the metadata).
    request.encoding = "utf-8"
    try:
        ping_uuid = uuid.UUID(first)
    except ValueError:
        ping_uuid = None
    if ping_uuid is not None:
        if third is not None:
            raise PingError("too many path segments: use /ping/<uuid>[/start|/fail|/log|/<exit status>]")
        ping = _ping_input(request, second)
        now = timezone.now()
        return _answer(request, ping_record_by_uuid(ping_uuid=ping_uuid, ping=ping, now=now), now)
    if second is None:
        raise PingError(
            f"{first[:ECHO_CHARS]!r} is not a ping uuid; use /ping/<uuid> or /ping/<ping key>/<slug>"
        )
    return _dispatch_slug(request, ping_key=first, slug=second, action=third)


def _dispatch_slug(request: HttpRequest, *, ping_key: str, slug: str, action: str | None) -> HttpResponse:
    if not ping_key.isprintable():
        raise PingError("invalid ping key: it holds control characters")
    if not SLUG.fullmatch(slug):
        raise PingError(
            f"invalid slug {slug[:ECHO_CHARS]!r}: use lowercase letters, digits, '-' and '_' (at most 100)"
        )
    ping = _ping_input(request, action)
    now = timezone.now()
    recorded = ping_record_by_slug(ping_key=ping_key, slug=slug, ping=ping, now=now)
    if recorded is not Recorded.NO_MONITOR or request.GET.get("create") not in ("1", "true"):
        return _answer(request, recorded, now)
    project = Project.objects.filter(ping_key=ping_key).first()
    if project is None:
        return _answer(request, recorded, now)
    monitor = monitor_get_or_create_by_slug(project=project, slug=slug)
    now = timezone.now()
    return _answer(request, ping_record_by_id(monitor_id=monitor.id, ping=ping, now=now), now)
