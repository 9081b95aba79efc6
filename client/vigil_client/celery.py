"""Report Celery beat tasks to Vigil through Celery's signals.

    from vigil_client.celery import enable_celery_monitoring
    enable_celery_monitoring(app)  # VIGIL_SERVER, VIGIL_PING_KEY (and VIGIL_API_KEY) from the environment

Each entry of app.conf.beat_schedule becomes a monitor whose slug is the entry's name
(sanitized). With an API key, the monitors are created or updated with the entries' own
schedules (vigil_client.beat) before the first ping; without one, the first ping creates
them with the server's default (?create=1). Celery is imported only inside this module and
only when monitoring is enabled: it is not a dependency of vigil-client.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from vigil_client.api import ApiClient, ApiError
from vigil_client.beat import BeatEntry, Synced, app_timezone, beat_entries, sync_beat_monitors
from vigil_client.pings import ConfigError, OnceWarner, PingSession, PingTarget
from vigil_client.schedules import parse_duration
from vigil_client.transport import Budget, Transport

logger = logging.getLogger("vigil_client")
LOG_LIMIT = 100 * 1024


@dataclass
class CeleryMonitoring:
    """What enable_celery_monitoring connected; disconnect() undoes it."""

    entries: list[BeatEntry]
    server: str
    ping_key: str
    timeout: float
    # Set once the monitors have their schedules (or that was given up on).
    synced: threading.Event = field(default_factory=threading.Event)
    sync_results: list[Synced] = field(default_factory=list)
    _sessions: dict[str, PingSession] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _receivers: list[tuple[Any, Any]] = field(default_factory=list)

    def match(self, task_name: str, args: Any = None, kwargs: Any = None) -> BeatEntry | None:
        """The beat entry a run belongs to: same task, and same arguments if several entries
        share the task."""
        candidates = [e for e in self.entries if e.task == task_name]
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        for entry in candidates:
            if tuple(args or ()) == (entry.args or ()) and dict(kwargs or {}) == (entry.kwargs or {}):
                return entry
        return candidates[0]

    def on_prerun(self, task_id: str, task_name: str, args: Any = None, kwargs: Any = None) -> None:
        entry = self.match(task_name, args, kwargs)
        if entry is None:
            return
        try:
            target = PingTarget.from_slug(self.server, self.ping_key, entry.slug, create=True)
        except ConfigError as exc:
            logger.warning("vigil: %s", exc)
            return
        warn = OnceWarner(lambda message: logger.warning("vigil: %s: %s", entry.slug, message))
        session = PingSession(target, Transport(Budget(self.timeout)), warn, rid=_rid(task_id))
        with self._lock:
            self._sessions[task_id] = session
        # The first ping waits (in its background thread) for the monitors to get their
        # schedules, or ?create=1 would make this one with the server's default instead.
        session.start(before=lambda: self.synced.wait(self.timeout))

    def sync(self, client: ApiClient, grace: int | None) -> None:
        """Create or update the entries' monitors; problems are logged, never raised."""
        try:
            self.sync_results = sync_beat_monitors(client, self.entries, grace=grace)
        except ApiError as exc:
            logger.warning("vigil: could not give the Celery monitors their schedules: %s", exc)
        except Exception:  # A bug here must never disturb the worker.
            logger.exception("vigil: could not give the Celery monitors their schedules")
        finally:
            self.synced.set()
        for result in self.sync_results:
            if result.action == "failed":
                logger.warning("vigil: monitor %r: %s", result.entry.slug, result.detail)

    def on_finish(self, task_id: str | None, ok: bool, log: str = "") -> None:
        if task_id is None:
            return
        with self._lock:
            session = self._sessions.pop(task_id, None)
        if session is None:
            return
        data = log.encode("utf-8", errors="replace")[-LOG_LIMIT:] or None
        session.finish("success" if ok else "fail", data)

    def disconnect(self) -> None:
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)
        self._receivers.clear()


def _rid(task_id: str) -> str:
    """Celery task ids are uuid4s: reuse them so a run can be found by its task id."""
    try:
        return str(uuid.UUID(str(task_id)))
    except ValueError:
        return str(uuid.uuid4())


def _task_name(task: Any) -> str:
    return str(getattr(task, "name", "") or "")


def app_entries(app: Any) -> list[BeatEntry]:
    """The app's beat entries, their crontabs read in the app's time zone."""
    conf = app.conf
    return beat_entries(getattr(conf, "beat_schedule", None) or {}, timezone=app_timezone(conf))


def enable_celery_monitoring(
    app: Any,
    server: str | None = None,
    ping_key: str | None = None,
    *,
    api_key: str | None = None,
    grace: int | str | None = None,
    timeout: float = 10.0,
) -> CeleryMonitoring:
    """Ping Vigil for every run of a task listed in app.conf.beat_schedule.

    task_prerun sends start (in the background: the task is never delayed), task_success
    success, task_failure fail with the traceback as log. Connect it in the worker process.
    With an API key (or VIGIL_API_KEY), each entry's monitor gets the entry's schedule, in a
    background thread, before its first ping; `grace` (seconds or "10m") overrides the grace
    derived from each schedule (one period, from a minute to an hour).
    """
    from celery import signals  # Lazy: celery is only needed by those who call this.

    server = server or os.environ.get("VIGIL_SERVER") or ""
    ping_key = ping_key or os.environ.get("VIGIL_PING_KEY") or ""
    api_key = api_key or os.environ.get("VIGIL_API_KEY") or ""
    grace_seconds = parse_duration(grace, "grace") if grace is not None else None
    entries = app_entries(app)
    monitoring = CeleryMonitoring(entries, server, ping_key, timeout)
    if not server or not ping_key:
        logger.warning("vigil: Celery tasks not monitored: set VIGIL_SERVER and VIGIL_PING_KEY")
        return monitoring
    for entry in entries:
        if entry.problem:
            logger.warning(
                "vigil: beat entry %r keeps the server's default schedule: %s", entry.name, entry.problem
            )
    if api_key:
        client = ApiClient(server, api_key, Transport(Budget(timeout)))
        threading.Thread(
            target=monitoring.sync, args=(client, grace_seconds), name="vigil-celery-sync", daemon=True
        ).start()
    else:
        monitoring.synced.set()
        logger.warning(
            "vigil: VIGIL_API_KEY not set: Celery monitors made by their first ping get the server's "
            "default schedule (1 day), not the beat schedule"
        )

    def prerun(sender: Any = None, task_id: str | None = None, task: Any = None, **kw: Any) -> None:
        if task_id is not None:
            monitoring.on_prerun(task_id, _task_name(task or sender), kw.get("args"), kw.get("kwargs"))

    def success(sender: Any = None, **kw: Any) -> None:
        request = getattr(sender, "request", None)
        monitoring.on_finish(getattr(request, "id", None), ok=True)

    def failure(sender: Any = None, task_id: str | None = None, **kw: Any) -> None:
        einfo = kw.get("einfo")
        text = str(getattr(einfo, "traceback", "") or "")
        if not text and kw.get("exception") is not None:
            text = repr(kw["exception"])
        monitoring.on_finish(task_id, ok=False, log=text)

    # weak=False: these closures have no other reference keeping them alive.
    for signal, receiver in (
        (signals.task_prerun, prerun),
        (signals.task_success, success),
        (signals.task_failure, failure),
    ):
        signal.connect(receiver, weak=False)
        monitoring._receivers.append((signal, receiver))
    return monitoring
