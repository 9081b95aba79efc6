"""Report runs from Python code: `@monitor("slug")` and `with monitor("slug") as run:`.

Nothing here raises because Vigil is down or misconfigured: the job's own result and
exceptions are all the caller ever sees. Trouble is logged once per run on the
"vigil_client" logger.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import os
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from vigil_client.api import ApiClient, ApiError, JsonDict
from vigil_client.crontab import sanitize_slug
from vigil_client.pings import (
    ConfigError,
    MetaValue,
    OnceWarner,
    PingKind,
    PingSession,
    PingTarget,
)
from vigil_client.schedules import parse_duration, schedule_payload
from vigil_client.transport import Budget, Transport

DEFAULT_TIMEOUT = 10.0
LOG_LIMIT = 100 * 1024  # The server keeps no more than this of a run's log.

logger = logging.getLogger("vigil_client")
P = ParamSpec("P")
R = TypeVar("R")

_runs: contextvars.ContextVar[tuple[Run, ...]] = contextvars.ContextVar("vigil_runs", default=())
# Slugs whose definition was already sent to the API by this process.
_ensured: set[str] = set()
_ensure_lock = threading.Lock()
_config_warned: set[str] = set()


def current_run() -> Run | None:
    """The innermost run in progress in this thread or task (e.g. inside a decorated function)."""
    runs = _runs.get()
    return runs[-1] if runs else None


class Run:
    """One execution: collect metadata and log text, then one finish ping."""

    def __init__(self, monitor: Monitor, session: PingSession) -> None:
        self.monitor = monitor
        self._session = session
        self._meta: dict[str, MetaValue] = {}
        self._log: list[str] = []

    @property
    def rid(self) -> str:
        return self._session.rid

    def meta(self, **values: MetaValue) -> None:
        """Attach metadata (numbers, strings, bools) sent with the finish ping."""
        for key, value in values.items():
            if not isinstance(value, int | float | str | bool):
                raise TypeError(
                    f"meta {key!r}: expected a number, string or bool, got {type(value).__name__}"
                )
            self._meta[key] = value

    def log(self, text: str) -> None:
        """Add a line to the log sent with the finish ping."""
        self._log.append(text if text.endswith("\n") else text + "\n")

    def _finish(self, kind: PingKind, extra_log: str = "") -> None:
        data = ("".join(self._log) + extra_log).encode("utf-8", errors="replace")
        self._session.finish(kind, data[-LOG_LIMIT:] or None, self._meta or None)


class Monitor:
    """A decorator and a reusable context manager reporting runs of one monitor."""

    def __init__(
        self,
        slug: str | None = None,
        *,
        url: str | None = None,
        server: str | None = None,
        ping_key: str | None = None,
        api_key: str | None = None,
        name: str | None = None,
        schedule: str | None = None,
        interval: int | str | None = None,
        timezone: str | None = None,
        grace: int | str | None = None,
        max_duration: int | str | None = None,
        description: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.slug = slug
        self.url = url
        self.server = server
        self.ping_key = ping_key
        self.api_key = api_key
        self.timeout = timeout
        # Checked now: a typo in the definition is a programming error worth raising for.
        self.definition = _definition(name, schedule, interval, timezone, grace, max_duration, description)

    # ---- decorator -------------------------------------------------------------------

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        if self.slug is None and self.url is None:
            self.slug = sanitize_slug(func.__name__.replace("_", "-")) or None
        if inspect.iscoroutinefunction(func):
            return cast(Callable[P, R], self._wrap_async(func))

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with self:
                return func(*args, **kwargs)

        return wrapper

    def _wrap_async(self, func: Callable[P, Any]) -> Callable[P, Any]:
        import asyncio  # Here, not at the top: it would slow every `vigil` command's start.

        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            run = self._enter()
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                kind, log = self._leave(run, exc)
                # The finish ping blocks (bounded by the budget): keep it off the event loop.
                await asyncio.to_thread(run._finish, kind, log)
                raise
            kind, log = self._leave(run, None)
            await asyncio.to_thread(run._finish, kind, log)
            return result

        return wrapper

    # ---- context manager -------------------------------------------------------------

    def __enter__(self) -> Run:
        return self._enter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        runs = _runs.get()
        run = next((r for r in reversed(runs) if r.monitor is self), None)
        if run is None:
            return
        kind, log = self._leave(run, exc)
        run._finish(kind, log)
        # Returning None re-raises the job's exception, if any.

    def _enter(self) -> Run:
        if self.slug is None and self.url is None:
            raise TypeError("monitor() needs a slug or url=")
        budget = Budget(self.timeout)
        transport = Transport(budget)
        warn = OnceWarner(lambda message: logger.warning("vigil: %s", message))
        session = PingSession(self._target(), transport, warn)
        run = Run(self, session)
        _runs.set((*_runs.get(), run))
        session.start(before=lambda: self._ensure(transport))
        return run

    def _leave(self, run: Run, exc: BaseException | None) -> tuple[PingKind, str]:
        """Pop the run and decide its result: success, fail, or sys.exit's own code."""
        runs = list(_runs.get())
        if run in runs:
            del runs[len(runs) - 1 - runs[::-1].index(run)]
            _runs.set(tuple(runs))
        if exc is None:
            return "success", ""
        if isinstance(exc, SystemExit) and (exc.code is None or isinstance(exc.code, int)):
            code = exc.code or 0
            return (code if 0 <= code <= 255 else "fail"), ""
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return "fail", text

    # ---- configuration ---------------------------------------------------------------

    def _target(self) -> PingTarget | None:
        """Resolved at each run, so settings made after import (or in tests) apply."""
        try:
            if self.url:
                return PingTarget.from_url(self.url)
            assert self.slug is not None
            server = self.server or os.environ.get("VIGIL_SERVER")
            ping_key = self.ping_key or os.environ.get("VIGIL_PING_KEY")
            return PingTarget.from_slug(server, ping_key, self.slug, create=True)
        except ConfigError as exc:
            key = self.url or self.slug or ""
            if key not in _config_warned:
                _config_warned.add(key)
                logger.warning("vigil: %s not monitored: %s", key, exc)
            return None

    def _ensure(self, transport: Transport) -> None:
        """Create or update the monitor from its definition, once per process and slug."""
        api_key = self.api_key or os.environ.get("VIGIL_API_KEY")
        server = self.server or os.environ.get("VIGIL_SERVER")
        if not self.definition or not self.slug or not api_key or not server:
            return
        with _ensure_lock:
            if self.slug in _ensured:
                return
            client = ApiClient(server, api_key, transport)
            try:
                existing = client.monitor_by_slug(self.slug)
                if existing is None:
                    client.create_monitor({"slug": self.slug, "name": self.slug, **self.definition})
                else:
                    changed = {k: v for k, v in self.definition.items() if existing.get(k) != v}
                    if changed:
                        client.update_monitor(existing["id"], changed)
            except ApiError as exc:
                logger.warning("vigil: could not create or update monitor %r: %s", self.slug, exc)
                if exc.status is None:
                    return  # Server unreachable: try again on the next run.
            _ensured.add(self.slug)


def _definition(
    name: str | None,
    schedule: str | None,
    interval: int | str | None,
    timezone: str | None,
    grace: int | str | None,
    max_duration: int | str | None,
    description: str | None,
) -> JsonDict:
    definition: JsonDict = {}
    sched = schedule_payload(schedule=schedule, interval=interval, timezone=timezone)
    if sched is not None:
        definition["schedule"] = sched
    if name is not None:
        definition["name"] = name
    if grace is not None:
        definition["grace_seconds"] = parse_duration(grace, "grace")
    if max_duration is not None:
        definition["max_duration_seconds"] = parse_duration(max_duration, "max_duration")
    if description is not None:
        definition["description"] = description
    return definition


def monitor(
    slug: str | None = None,
    *,
    url: str | None = None,
    server: str | None = None,
    ping_key: str | None = None,
    api_key: str | None = None,
    name: str | None = None,
    schedule: str | None = None,
    interval: int | str | None = None,
    timezone: str | None = None,
    grace: int | str | None = None,
    max_duration: int | str | None = None,
    description: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Monitor:
    """Report runs of the monitor `slug` (or the ping URL `url`).

    As a decorator every call of the function is one run; as a context manager every
    `with` block is one. schedule= (cron) or interval=, with grace=, max_duration=,
    description=, create or update the monitor through the API once per process when
    VIGIL_API_KEY is set. Pings go to VIGIL_SERVER/ping/VIGIL_PING_KEY/<slug>?create=1.
    """
    return Monitor(
        slug,
        url=url,
        server=server,
        ping_key=ping_key,
        api_key=api_key,
        name=name,
        schedule=schedule,
        interval=interval,
        timezone=timezone,
        grace=grace,
        max_duration=max_duration,
        description=description,
        timeout=timeout,
    )
