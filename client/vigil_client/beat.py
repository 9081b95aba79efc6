"""Celery beat entries as Vigil monitors with the entries' own schedules, and which never pinged.

`crontab` entries become cron expressions in the app's time zone; `schedule`, timedelta and
number entries become intervals. Solar and custom schedules have no such equivalent: they are
reported as not mapped, with the reason, never guessed. Celery is imported lazily, only to
recognise its schedule classes: this module works on any mapping of entries.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from vigil_client.api import ApiClient, ApiError, JsonDict
from vigil_client.crontab import local_timezone, sanitize_slug
from vigil_client.monitors_file import same_field, show_schedule
from vigil_client.schedules import format_duration_short

# Grace: as long as one period, at least a minute, at most an hour.
MIN_GRACE = 60
MAX_GRACE = 3600
# Cron periods are found by stepping through this many days of minutes.
PERIOD_SEARCH_DAYS = 15


class Unmapped(Exception):
    """A beat schedule with no cron or interval equivalent; the message says why."""


@dataclass(frozen=True)
class BeatEntry:
    name: str
    slug: str
    task: str
    args: tuple[Any, ...] | None = None
    kwargs: dict[str, Any] | None = None
    # The API's schedule object, or None with `problem` saying why there is none.
    schedule: dict[str, Any] | None = None
    grace_seconds: int | None = None
    problem: str | None = None

    def describe(self) -> str:
        """ "cron 0 3 * * * (Europe/Berlin)", "every 300 s" or why it is not mapped."""
        if self.schedule is None:
            return f"not mapped: {self.problem}"
        if self.schedule["kind"] == "cron":
            return f"cron {self.schedule['expression']} ({self.schedule['timezone']})"
        return f"every {format_duration_short(self.schedule['seconds'])}"


def app_timezone(conf: Any) -> str:
    """The zone Celery evaluates crontabs in: `timezone`, else UTC with `enable_utc` (the
    default), else the machine's local zone."""
    name = getattr(conf, "timezone", None)
    if name:
        return str(getattr(name, "key", name))
    if getattr(conf, "enable_utc", True):
        return "UTC"
    return local_timezone()


def beat_entries(beat_schedule: Mapping[str, Any] | None, *, timezone: str = "UTC") -> list[BeatEntry]:
    entries = []
    for name, entry in (beat_schedule or {}).items():
        if not isinstance(entry, Mapping) or not entry.get("task"):
            continue
        args = entry.get("args")
        kwargs = entry.get("kwargs")
        schedule: dict[str, Any] | None = None
        grace: int | None = None
        problem: str | None = None
        try:
            schedule, period = map_schedule(entry.get("schedule"), timezone)
            grace = min(MAX_GRACE, max(MIN_GRACE, period))
        except Unmapped as exc:
            problem = str(exc)
        entries.append(
            BeatEntry(
                name=str(name),
                slug=sanitize_slug(str(name)) or "celery-task",
                task=str(entry["task"]),
                args=tuple(args) if args is not None else None,
                kwargs=dict(kwargs) if kwargs is not None else None,
                schedule=schedule,
                grace_seconds=grace,
                problem=problem,
            )
        )
    return entries


def map_schedule(schedule: Any, timezone: str) -> tuple[dict[str, Any], int]:
    """(the API's schedule object, the shortest time between two runs in seconds)."""
    if schedule is None:
        raise Unmapped("the entry has no schedule")
    if isinstance(schedule, bool):
        raise Unmapped(f"{schedule!r} is not a schedule")
    if isinstance(schedule, int | float):
        return _interval(float(schedule))
    if isinstance(schedule, timedelta):
        return _interval(schedule.total_seconds())
    try:
        from celery import schedules  # Lazy: celery is only needed by those who have beat entries.
    except ImportError:
        raise Unmapped(f"a {type(schedule).__name__} needs celery to be read") from None
    kind = type(schedule)
    if kind is schedules.crontab:
        return _cron(schedule, timezone)
    if kind is schedules.schedule:
        return _interval(schedule.run_every.total_seconds())
    if isinstance(schedule, schedules.solar):
        raise Unmapped(
            f"solar schedules ({schedule.event}) follow the sun: no cron expression or interval matches them"
        )
    raise Unmapped(f"custom schedule class {kind.__module__}.{kind.__qualname__}: its timing cannot be read")


def _interval(seconds: float) -> tuple[dict[str, Any], int]:
    if not math.isfinite(seconds) or seconds <= 0:
        raise Unmapped(f"an interval of {seconds:g} s never comes round")
    # Up, never down: pings arriving more often than expected are harmless, fewer are alerts.
    whole = max(1, math.ceil(seconds))
    return {"kind": "interval", "seconds": whole}, whole


FIELDS = (  # crontab attribute, lowest and highest value, in cron's field order
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day_of_month", 1, 31),
    ("month_of_year", 1, 12),
    ("day_of_week", 0, 6),
)


def _cron(entry: Any, timezone: str) -> tuple[dict[str, Any], int]:
    if getattr(entry, "nowfun", None) is not None:
        raise Unmapped("this crontab has its own clock (nowfun), so its time zone is unknown")
    values = {name: set(getattr(entry, name)) for name, _, _ in FIELDS}
    full = {name: values[name] == set(range(low, high + 1)) for name, low, high in FIELDS}
    if not full["day_of_month"] and not full["day_of_week"]:
        # Celery runs such an entry when both match; cron when either does.
        raise Unmapped(
            "day_of_month and day_of_week are both set: Celery needs both to match, cron either, "
            "so no cron expression says the same"
        )
    expression = " ".join(cron_field(values[name], low, high) for name, low, high in FIELDS)
    return {"kind": "cron", "expression": expression, "timezone": timezone}, _shortest_gap(values)


def cron_field(values: set[int], low: int, high: int) -> str:
    """{0, 15, 30, 45} -> "*/15", {1, 2, 3, 4, 5} -> "1-5", {0, 12} -> "0,12"."""
    ordered = sorted(values)
    if ordered == list(range(low, high + 1)):
        return "*"
    if len(ordered) > 2 and ordered[0] == low:
        step = ordered[1] - ordered[0]
        if ordered == list(range(low, high + 1, step)):
            return f"*/{step}"
    parts: list[str] = []
    run_start = previous = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        if previous - run_start >= 2:
            parts.append(f"{run_start}-{previous}")
        else:
            parts.extend(str(v) for v in range(run_start, previous + 1))
        if value is not None:
            run_start = previous = value
    return ",".join(parts)


def _shortest_gap(values: dict[str, set[int]]) -> int:
    """Seconds between the two closest runs over a few weeks (a day when fewer than two fall there)."""
    first = date(2024, 1, 1)  # Wall-clock minutes, as Celery counts them.
    daily = sorted(hour * 60 + minute for hour in values["hour"] for minute in values["minute"])
    runs = [
        day * 1440 + minute
        for day in range(PERIOD_SEARCH_DAYS)
        if _runs_on(first + timedelta(days=day), values)
        for minute in daily
    ]
    gaps = [later - earlier for earlier, later in itertools.pairwise(runs)]
    return min(gaps) * 60 if gaps else 86400


def _runs_on(day: date, values: dict[str, set[int]]) -> bool:
    return (
        day.day in values["day_of_month"]
        and day.month in values["month_of_year"]
        and day.isoweekday() % 7 in values["day_of_week"]
    )


# ---- monitors through the API ---------------------------------------------------------------


@dataclass(frozen=True)
class Synced:
    entry: BeatEntry
    # created, updated, unchanged, skipped (no schedule to give) or failed (the API said no)
    action: str
    detail: str = ""
    monitor: JsonDict | None = None


def sync_beat_monitors(
    client: ApiClient, entries: list[BeatEntry], *, grace: int | None = None
) -> list[Synced]:
    """Give each entry's monitor the entry's schedule: create it, or update a different schedule.

    A monitor whose schedule already matches is left alone (a grace tuned on the server stays),
    unless `grace` is given. Other fields edited on the server are never touched.
    """
    existing = {m.get("slug"): m for m in client.monitors()}
    return [_sync_one(client, entry, existing.get(entry.slug), grace) for entry in entries]


def _sync_one(client: ApiClient, entry: BeatEntry, current: JsonDict | None, grace: int | None) -> Synced:
    if entry.schedule is None:
        return Synced(entry, "skipped", entry.problem or "", current)
    wanted_grace = grace if grace is not None else entry.grace_seconds
    try:
        if current is None:
            created, current = _create(client, entry, wanted_grace)
            if created:
                return Synced(entry, "created", entry.describe(), current)
        changes: JsonDict = {}
        if not same_field("schedule", current.get("schedule"), entry.schedule):
            changes = {"schedule": entry.schedule, "grace_seconds": wanted_grace}
        elif grace is not None and current.get("grace_seconds") != grace:
            changes = {"grace_seconds": grace}
        if not changes:
            return Synced(entry, "unchanged", entry.describe(), current)
        was = show_schedule(current.get("schedule"))
        return Synced(
            entry, "updated", f"{was} -> {entry.describe()}", client.update_monitor(current["id"], changes)
        )
    except ApiError as exc:
        return Synced(entry, "failed", str(exc), current)


def _create(client: ApiClient, entry: BeatEntry, grace: int | None) -> tuple[bool, JsonDict]:
    """(True, the new monitor), or (False, the monitor) when a first ping with ?create=1 made
    it in the meantime; that one then gets the schedule by an update."""
    payload = {
        "slug": entry.slug,
        "name": entry.name[:200],
        "description": f"Celery beat entry {entry.name!r}: task {entry.task}",
        "tags": ["celery"],
        "schedule": entry.schedule,
        "grace_seconds": grace,
    }
    try:
        return True, client.create_monitor(payload)
    except ApiError as exc:
        found = client.monitor_by_slug(entry.slug) if exc.status == 400 else None
        if found is None:
            raise
        return False, found


@dataclass(frozen=True)
class EntryState:
    entry: BeatEntry
    monitor: JsonDict | None

    @property
    def never_pinged(self) -> bool:
        return self.monitor is None or not self.monitor.get("last_ping_at")


def beat_report(client: ApiClient, entries: list[BeatEntry]) -> list[EntryState]:
    """Each entry with its monitor as the server has it (None when there is none yet)."""
    existing = {m.get("slug"): m for m in client.monitors()}
    return [EntryState(entry, existing.get(entry.slug)) for entry in entries]
