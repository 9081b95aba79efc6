"""A monitor row as a `monitors.state.MonitorState`, and the state back as column values.

The persistence side of monitors.state: which columns hold the configuration and the state,
how to read them, and which of them a transition changed (writers write only those).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.conf import settings

from monitors.models import Monitor, ScheduleKind
from monitors.schedule import Schedule
from monitors.state import Config, Flap, Held, HeldNotice, MonitorState, ProblemKind, Status, initial_state

CONFIG_COLUMNS = (
    "schedule_kind",
    "interval_seconds",
    "cron_expression",
    "timezone",
    "grace_seconds",
    "max_duration_seconds",
    "failure_threshold",
    "recovery_threshold",
    "allow_overlap",
    "rules",
    "notify_every_failures",
    "resume_on_ping",
)
# MonitorState field -> column, where the names differ.
_RENAMED = {"held": "held_problem"}
STATE_FIELDS = (
    "window_start",
    "next_due_at",
    "deadline",
    "status",
    "paused",
    "paused_until",
    "incident_open",
    "last_ping_at",
    "last_start_at",
    "last_finish_at",
    "last_duration_ms",
    "open_runs",
    "running_since",
    "consecutive_bad",
    "consecutive_good",
    "held",
    "repeats_notified",
    "recent_durations_ms",
    "recent_opens",
    "flap",
)
STATE_COLUMNS = tuple(_RENAMED.get(name, name) for name in STATE_FIELDS)
# Everything a writer needs to build the state and write it back under the revision guard.
LOADED_COLUMNS = ("id", "project_id", "revision", *CONFIG_COLUMNS, *STATE_COLUMNS)


def schedule_of(monitor: Monitor) -> Schedule:
    if monitor.schedule_kind == ScheduleKind.CRON:
        return Schedule(kind="cron", expression=monitor.cron_expression, timezone=monitor.timezone)
    return Schedule(kind="interval", seconds=monitor.interval_seconds)


def config_of(monitor: Monitor) -> Config:
    return Config(
        schedule=schedule_of(monitor),
        grace_seconds=monitor.grace_seconds,
        max_duration_seconds=monitor.max_duration_seconds,
        failure_threshold=monitor.failure_threshold,
        recovery_threshold=monitor.recovery_threshold,
        allow_overlap=monitor.allow_overlap,
        rules=list(monitor.rules or []),
        notify_every_failures=monitor.notify_every_failures,
        resume_on_ping=monitor.resume_on_ping,
        flap_window_seconds=settings.FLAP_WINDOW_SECONDS,
    )


def state_of(monitor: Monitor) -> MonitorState:
    held = monitor.held_problem
    return MonitorState(
        config=config_of(monitor),
        window_start=monitor.window_start,
        next_due_at=monitor.next_due_at,
        deadline=monitor.deadline,
        status=cast(Status, monitor.status),
        paused=monitor.paused,
        paused_until=monitor.paused_until,
        incident_open=monitor.incident_open,
        last_ping_at=monitor.last_ping_at,
        last_start_at=monitor.last_start_at,
        last_finish_at=monitor.last_finish_at,
        last_duration_ms=monitor.last_duration_ms,
        open_runs=monitor.open_runs,
        running_since=monitor.running_since,
        consecutive_bad=monitor.consecutive_bad,
        consecutive_good=monitor.consecutive_good,
        held=Held(kind=cast(ProblemKind, held["kind"]), detail=str(held["detail"])) if held else None,
        repeats_notified=monitor.repeats_notified,
        recent_durations_ms=tuple(int(duration) for duration in monitor.recent_durations_ms or ()),
        recent_opens=tuple(datetime.fromisoformat(at) for at in monitor.recent_opens or ()),
        flap=_flap_of(monitor.flap),
    )


def _flap_of(stored: dict[str, Any] | None) -> Flap | None:
    if not stored:
        return None
    return Flap(
        since=datetime.fromisoformat(stored["since"]),
        last_change_at=datetime.fromisoformat(stored["last_change_at"]),
        problems=int(stored["problems"]),
        recoveries=int(stored["recoveries"]),
        first=_notice_of(stored.get("first")),
        last=_notice_of(stored.get("last")),
    )


def _notice_of(stored: dict[str, Any] | None) -> HeldNotice | None:
    if not stored:
        return None
    return HeldNotice(
        event=stored["event"],
        at=datetime.fromisoformat(stored["at"]),
        kind=stored.get("kind"),
        detail=str(stored.get("detail", "")),
    )


def notice_column(notice: HeldNotice | None) -> dict[str, Any] | None:
    if notice is None:
        return None
    return {"event": notice.event, "at": notice.at.isoformat(), "kind": notice.kind, "detail": notice.detail}


def flap_column(flap: Flap | None) -> dict[str, Any] | None:
    if flap is None:
        return None
    return {
        "since": flap.since.isoformat(),
        "last_change_at": flap.last_change_at.isoformat(),
        "problems": flap.problems,
        "recoveries": flap.recoveries,
        "first": notice_column(flap.first),
        "last": notice_column(flap.last),
    }


def _column_value(name: str, value: Any) -> Any:
    if name == "held":
        return None if value is None else {"kind": value.kind, "detail": value.detail}
    if name == "recent_durations_ms":
        return list(value)
    if name == "recent_opens":
        return [at.isoformat() for at in value]
    if name == "flap":
        return flap_column(value)
    return value


def state_columns(state: MonitorState) -> dict[str, Any]:
    return {_RENAMED.get(name, name): _column_value(name, getattr(state, name)) for name in STATE_FIELDS}


def changed_columns(before: MonitorState, after: MonitorState) -> dict[str, Any]:
    """The state columns `after` changes, with their new values (configuration is not state)."""
    return {
        _RENAMED.get(name, name): _column_value(name, getattr(after, name))
        for name in STATE_FIELDS
        if getattr(before, name) != getattr(after, name)
    }


def set_columns(monitor: Monitor, columns: dict[str, Any]) -> None:
    for name, value in columns.items():
        setattr(monitor, name, value)


def state_init(monitor: Monitor, *, now: datetime) -> None:
    """A new monitor's state columns: its first window starts `now` (it may be created paused)."""
    set_columns(
        monitor, state_columns(initial_state(config_of(monitor), created_at=now, paused=monitor.paused))
    )
