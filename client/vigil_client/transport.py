"""HTTP with retries inside one time budget, on urllib only.

Everything Vigil sends goes through here so that one rule holds everywhere: server errors
(5xx, 429) and network failures are retried with backoff until the invocation's budget is
spent, other 4xx answers are final at once, and nothing waits longer than the budget allows.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO

from vigil_client import __version__

USER_AGENT = f"vigil-client/{__version__}"
# One attempt never waits longer than this even if the budget is larger: a hung connection
# should leave room for a retry that may reach a healthy server.
MAX_ATTEMPT_TIMEOUT = 10.0
# Below this much budget an attempt cannot realistically complete, so stop instead.
MIN_ATTEMPT_TIME = 0.1
BACKOFF_BASE = 0.25
BACKOFF_CAP = 8.0


class Budget:
    """Seconds of network time shared by all of one invocation's requests.

    Only time while at least one request is in flight or backing off counts: a start ping
    that retries while the job runs uses the budget, a job running alone does not.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = max(0.0, float(seconds))
        self._clock = clock
        self._lock = threading.Lock()
        self._spent = 0.0
        self._active = 0
        self._since = 0.0

    def remaining(self) -> float:
        with self._lock:
            spent = self._spent
            if self._active:
                spent += self._clock() - self._since
            return max(0.0, self.total - spent)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        with self._lock:
            if self._active == 0:
                self._since = self._clock()
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self._spent += self._clock() - self._since


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def header(self, name: str) -> str | None:
        """A header's value, whatever case the server wrote its name in."""
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)


class TransportError(Exception):
    """Base class: the request did not get a successful answer."""


class DeliveryError(TransportError):
    """Gave up: the server stayed down, overloaded or unreachable for the whole budget."""


class RejectedError(TransportError):
    """A final answer that retrying cannot change: a 4xx other than 429, or a bad URL."""

    def __init__(self, message: str, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # An HTTP date: rare for 429; fall back to our own backoff.


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, BaseException):
            return _describe(reason)
        return str(reason)
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__


def _is_final_error(exc: BaseException) -> bool:
    """Local errors no retry can fix (a certificate that does not verify)."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return isinstance(reason, ssl.SSLCertVerificationError)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib turns a redirected POST into a GET without the body; a ping must not lose it."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if req.get_method() in ("GET", "HEAD"):
            return super().redirect_request(req, fp, code, msg, headers, newurl)
        return None


class Transport:
    """Sends requests, retrying with capped exponential backoff inside a shared Budget."""

    def __init__(
        self,
        budget: Budget,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempt_timeout: float = MAX_ATTEMPT_TIMEOUT,
    ) -> None:
        self.budget = budget
        self._sleep = sleep
        self._max_attempt_timeout = max_attempt_timeout
        self._opener = urllib.request.build_opener(_NoRedirect())

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        cap: float | None = None,
    ) -> Response:
        """Return the first 2xx answer; raise RejectedError or DeliveryError.

        cap limits this request to fewer seconds than the budget has left, so that one
        request (a start ping) cannot use up what a later one (the finish) needs.
        """
        started = time.monotonic()
        attempt = 0
        last_error = "the time budget was already used up"

        def left() -> float:
            remaining = self.budget.remaining()
            if cap is not None:
                remaining = min(remaining, cap - (time.monotonic() - started))
            return remaining

        while True:
            available = left()
            if available < MIN_ATTEMPT_TIME:
                raise DeliveryError(last_error)
            retry_after: float | None = None
            with self.budget.running():
                try:
                    response = self._once(
                        method, url, body, headers, timeout=min(available, self._max_attempt_timeout)
                    )
                except ValueError as exc:  # urllib's answer to a malformed URL
                    raise RejectedError(f"invalid URL {url!r}: {exc}") from exc
                except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
                    if _is_final_error(exc):
                        raise RejectedError(_describe(exc)) from exc
                    last_error = _describe(exc)
                else:
                    if response.status < 300:
                        return response
                    if response.status < 400:
                        # Only reached for POST/PUT, which must not silently become a GET.
                        location = response.headers.get("Location", "?")
                        raise RejectedError(
                            f"HTTP {response.status}: redirected to {location}; use that URL",
                            status=response.status,
                        )
                    if response.status != 429 and response.status < 500:
                        raise RejectedError(
                            f"HTTP {response.status} {_snippet(response.body)}".rstrip(),
                            status=response.status,
                            body=response.body,
                        )
                    last_error = f"HTTP {response.status}"
                    if response.status == 429:
                        retry_after = _retry_after(response.headers)

                delay = min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt)) * random.uniform(0.8, 1.2)
                attempt += 1
                if retry_after is not None:
                    if retry_after > left() - MIN_ATTEMPT_TIME:
                        # The server asked us to stay away longer than we may wait.
                        raise DeliveryError(f"{last_error} (asked to retry after {retry_after:g} s)")
                    delay = max(delay, retry_after)
                # Sleep at most until just before the budget ends, for one last short attempt.
                delay = min(delay, left() - MIN_ATTEMPT_TIME)
                if delay < 0:
                    raise DeliveryError(last_error)
                self._sleep(delay)

    def _once(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str] | None,
        timeout: float,
    ) -> Response:
        all_headers = {"User-Agent": USER_AGENT}
        all_headers.update(headers or {})
        req = urllib.request.Request(url, data=body, headers=all_headers, method=method)
        try:
            with self._opener.open(req, timeout=timeout) as resp:
                return Response(resp.status, resp.read(), dict(resp.headers.items()))
        except urllib.error.HTTPError as exc:
            # An HTTP error status is still an answer; decide about retrying in request().
            with contextlib.closing(exc):
                try:
                    payload = exc.read()
                except OSError:
                    payload = b""
            return Response(exc.code, payload, dict(exc.headers.items()) if exc.headers else {})


def _snippet(body: bytes, limit: int = 200) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
