"""Ping URLs, ping bodies and one run's start/finish pair."""

from __future__ import annotations

import json
import re
import sys
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from vigil_client.joblog import parse_limit
from vigil_client.transport import DeliveryError, RejectedError, Transport

MetaValue = int | float | str | bool
Meta = Mapping[str, MetaValue]
# "success", "start", "fail", "log" or an exit code 0-255.
PingKind = str | int

PING_KINDS = ("success", "start", "fail", "log")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


class ConfigError(Exception):
    """Not enough settings to know where to ping or which API to call."""


def parse_kind(text: str) -> PingKind:
    """'start' -> 'start', '3' -> 3; raise ValueError for anything else."""
    if text in PING_KINDS:
        return text
    if text.isascii() and text.isdigit() and 0 <= int(text) <= 255:
        return int(text)
    raise ValueError(f"expected one of {', '.join(PING_KINDS)} or an exit code 0-255, got {text!r}")


def parse_meta_value(text: str) -> MetaValue:
    """Type a --meta value: JSON-number syntax -> number, true/false -> bool, else string."""
    if text == "true":
        return True
    if text == "false":
        return False
    if _JSON_NUMBER.fullmatch(text):
        if any(c in text for c in ".eE"):
            return float(text)
        return int(text)
    return text


def parse_meta_pairs(pairs: list[str]) -> dict[str, MetaValue]:
    meta: dict[str, MetaValue] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--meta expects key=value, got {pair!r}")
        meta[key] = parse_meta_value(value)
    return meta


@dataclass(frozen=True)
class PingTarget:
    """Where one monitor's pings go: a ping URL without the /start, /fail... suffix."""

    base_url: str

    @classmethod
    def from_url(cls, url: str) -> PingTarget:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"not an http(s) ping URL: {url!r}")
        return cls(url)

    @classmethod
    def from_slug(
        cls, server: str | None, ping_key: str | None, slug: str, *, create: bool = False
    ) -> PingTarget:
        if not server:
            raise ConfigError("--slug needs the server URL (--server or VIGIL_SERVER)")
        if not ping_key:
            raise ConfigError("--slug needs the project's ping key (--ping-key or VIGIL_PING_KEY)")
        quote = urllib.parse.quote
        url = f"{server.rstrip('/')}/ping/{quote(ping_key, safe='')}/{quote(slug, safe='')}"
        if create:
            url += "?create=1"
        return cls.from_url(url)

    def url(self, kind: PingKind = "success", *, rid: str | None = None) -> str:
        if isinstance(kind, int):
            if not 0 <= kind <= 255:
                raise ValueError(f"exit code out of range: {kind}")
            suffix = f"/{kind}"
        elif kind == "success":
            suffix = ""
        elif kind in PING_KINDS:
            suffix = f"/{kind}"
        else:
            raise ValueError(f"unknown ping kind {kind!r}")
        parts = urllib.parse.urlsplit(self.base_url)
        # Keep any query the user's URL already has (?create=1) and add ours after it.
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if rid:
            query = [(k, v) for k, v in query if k != "rid"] + [("rid", rid)]
        path = parts.path.rstrip("/") + suffix
        return urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, path, urllib.parse.urlencode(query), parts.fragment)
        )


def encode_body(log: bytes | None, meta: Meta | None) -> tuple[bytes, str]:
    """The request body and its content type.

    Metadata needs the JSON envelope. A log that itself looks like a JSON object is wrapped
    too, so the server can never mistake a job's own output for an envelope.
    """
    log = log or b""
    if meta or log.lstrip()[:1] == b"{":
        envelope = {"meta": dict(meta or {}), "log": log.decode("utf-8", errors="replace")}
        return json.dumps(envelope).encode(), "application/json"
    return log, "text/plain; charset=utf-8"


@dataclass(frozen=True)
class PingOutcome:
    ok: bool
    message: str = ""
    # The server's `Ping-Body-Limit`: the bytes of a log it keeps (None when it does not say).
    body_limit: int | None = None


def send_ping(
    transport: Transport,
    target: PingTarget,
    kind: PingKind = "success",
    *,
    rid: str | None = None,
    log: bytes | None = None,
    meta: Meta | None = None,
    cap: float | None = None,
) -> PingOutcome:
    """Send one ping; never raises for network or server trouble."""
    url = target.url(kind, rid=rid)
    body, content_type = encode_body(log, meta)
    try:
        response = transport.request("POST", url, body=body, headers={"Content-Type": content_type}, cap=cap)
    except RejectedError as exc:
        hint = {404: " (unknown monitor: check the URL or slug)", 400: " (malformed ping)"}
        return PingOutcome(False, f"ping {_kind_name(kind)} rejected: {exc}{hint.get(exc.status or 0, '')}")
    except DeliveryError as exc:
        budget = transport.budget.total
        return PingOutcome(False, f"ping {_kind_name(kind)} not delivered within {budget:g} s: {exc}")
    return PingOutcome(True, body_limit=parse_limit(response.header("Ping-Body-Limit")))


def _kind_name(kind: PingKind) -> str:
    return f"exit {kind}" if isinstance(kind, int) else kind


class OnceWarner:
    """Prints at most one line per invocation: Vigil trouble must not flood a job's stderr."""

    def __init__(self, write: Callable[[str], None] | None = None) -> None:
        self._write = write or _stderr_line
        self._lock = threading.Lock()
        self.warned = False

    def __call__(self, message: str) -> None:
        with self._lock:
            if self.warned:
                return
            self.warned = True
        self._write(message)


def _stderr_line(message: str) -> None:
    try:
        sys.stderr.write(f"vigil: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # No usable stderr (closed by the caller): nothing else to do.


class PingSession:
    """One monitored run: a start ping in the background, then exactly one finish ping.

    The start ping may use at most half of the budget so that the finish, which carries
    the result, always keeps the other half.
    """

    def __init__(
        self,
        target: PingTarget | None,
        transport: Transport,
        warn: Callable[[str], None],
        *,
        rid: str | None = None,
        on_body_limit: Callable[[int], None] | None = None,
    ) -> None:
        self.target = target
        self.transport = transport
        self.warn = warn
        self.rid = rid or str(uuid.uuid4())
        # Told the server's log limit as soon as the start ping's answer says it.
        self.on_body_limit = on_body_limit
        self._start_thread: threading.Thread | None = None
        self._start_outcome: PingOutcome | None = None

    def start(self, before: Callable[[], object] | None = None) -> None:
        """Send the start ping without blocking the caller; `before` runs first in the thread."""
        if self.target is None:
            return
        target = self.target

        def send() -> None:
            try:
                if before is not None:
                    before()
                outcome = send_ping(
                    self.transport, target, "start", rid=self.rid, cap=self.transport.budget.total / 2
                )
                if outcome.body_limit is not None and self.on_body_limit is not None:
                    self.on_body_limit(outcome.body_limit)
            except Exception as exc:  # A bug here must never disturb the job.
                outcome = PingOutcome(False, f"start ping failed: {exc!r}")
            self._start_outcome = outcome

        self._start_thread = threading.Thread(target=send, name="vigil-start-ping", daemon=True)
        self._start_thread.start()

    def wait_for_start(self) -> None:
        """Until the start ping is answered (or gave up): its answer may size the log."""
        if self._start_thread is not None:
            # Bounded: the start ping's own cap ends it; the margin covers one slow attempt.
            self._start_thread.join(timeout=self.transport.budget.total + 1.0)

    def finish(self, kind: PingKind, log: bytes | None = None, meta: Meta | None = None) -> bool:
        """Send the result after the start ping (so the server sees them in order).

        Problems with either ping end up in one warning line, given here.
        """
        self.wait_for_start()
        if self.target is None:
            return False
        try:
            outcome = send_ping(self.transport, self.target, kind, rid=self.rid, log=log, meta=meta)
        except Exception as exc:
            outcome = PingOutcome(False, f"finish ping failed: {exc!r}")
        start = self._start_outcome
        if not outcome.ok:
            also = " (the start ping failed too)" if start is not None and not start.ok else ""
            self.warn(outcome.message + also)
        elif start is not None and not start.ok:
            self.warn(start.message)
        return outcome.ok
