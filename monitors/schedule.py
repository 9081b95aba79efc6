"""Schedule math: parsing schedules and computing when a monitor is next due.

Pure functions only (no ORM) so the ping hot path and the tests can use them cheaply.

Cron expressions are evaluated against the wall clock of the schedule's time zone. We
deliberately do not use croniter's own time zone support (it is unreliable around DST);
croniter only enumerates naive wall-clock times and zoneinfo maps them to instants:

* a wall time skipped by a spring-forward gap is due when the gap ends;
* a wall time that occurs twice (fall-back) is due once, at its first occurrence.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterError, croniter

# Upper bound keeps `after + interval` far away from datetime overflow.
MAX_INTERVAL_SECONDS = 100 * 366 * 24 * 60 * 60

_MACROS = frozenset({"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"})
# Same field splitting as croniter: only ASCII whitespace separates fields.
_FIELD_RE = re.compile(r"\S+", re.ASCII)
# croniter's "H" (hashed) and "R" (random) fields are not reproducible without extra input.
_HASHED_OR_RANDOM_RE = re.compile(r"(?<![a-z])[hr](?![a-z])")
# Any fixed start works for the "can this expression ever fire" probe.
_PROBE_START = datetime(2000, 1, 1)
# Candidates are only skipped while `after` sits in the second pass of a repeated hour,
# so this bound is never reached for real time zones; it just guarantees termination.
_MAX_CANDIDATES = 10_000
# Links to the host's zone: valid on this machine, meaningless as a stored setting.
_HOST_DEPENDENT_ZONES = frozenset({"localtime"})

_KIND_FIELDS: dict[str, frozenset[str]] = {
    "interval": frozenset({"kind", "seconds"}),
    "cron": frozenset({"kind", "expression", "timezone"}),
}


class ScheduleError(ValueError):
    """An invalid schedule; the message is meant to be shown to the user."""


@dataclass(frozen=True)
class Schedule:
    kind: Literal["interval", "cron"]
    seconds: int = 0  # interval only
    expression: str = ""  # cron only
    timezone: str = "UTC"  # cron only (IANA name)


_DEFAULTS: dict[str, object] = {
    "seconds": Schedule.seconds,
    "expression": Schedule.expression,
    "timezone": Schedule.timezone,
}


def parse_schedule(data: object) -> Schedule:
    """Build a validated Schedule from API JSON."""
    if not isinstance(data, dict):
        raise ScheduleError("schedule must be an object")
    kind = data.get("kind")
    if kind is None:
        raise ScheduleError("schedule kind is required")
    if not isinstance(kind, str) or kind not in _KIND_FIELDS:
        raise ScheduleError(f"unknown schedule kind: {kind!r}")
    _check_fields(data, kind)
    if kind == "interval":
        return Schedule(kind="interval", seconds=_validate_seconds(data.get("seconds")))
    expression = data.get("expression")
    if not isinstance(expression, str):
        raise ScheduleError("cron expression must be a string")
    tz_name = data.get("timezone", Schedule.timezone)
    if not isinstance(tz_name, str):
        raise ScheduleError("time zone must be a string")
    return Schedule(
        kind="cron",
        expression=validate_cron_expression(expression),
        timezone=validate_timezone(tz_name),
    )


def _check_fields(data: dict[object, object], kind: str) -> None:
    """Reject typos and fields of the other kind; defaults are allowed so asdict() output round-trips."""
    for key, value in data.items():
        if key in _KIND_FIELDS[kind]:
            continue
        if key not in _DEFAULTS:
            raise ScheduleError(f"unknown schedule field: {key!r}")
        if value != _DEFAULTS[key]:
            raise ScheduleError(f"{key!r} is not allowed for {kind} schedules")


def _validate_seconds(value: object) -> int:
    # bool is an int subclass, but `true` is not a duration.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScheduleError("interval seconds must be an integer")
    if value < 1:
        raise ScheduleError("interval must be at least 1 second")
    if value > MAX_INTERVAL_SECONDS:
        raise ScheduleError(f"interval must be at most {MAX_INTERVAL_SECONDS // 86400} days")
    return value


def validate_timezone(name: str) -> str:
    """Return `name` if it is an IANA time zone known to this system."""
    if name in _HOST_DEPENDENT_ZONES or name not in _known_timezones():
        raise ScheduleError(f"unknown time zone: {name!r}")
    return name


def validate_cron_expression(expression: str) -> str:
    """Return the expression with whitespace collapsed and macros lower-cased."""
    _cron_template(expression)
    return _normalise_cron(expression)


@lru_cache(maxsize=1)
def _known_timezones() -> frozenset[str]:
    # Scanning the tz database takes tens of milliseconds; do it once.
    return frozenset(available_timezones())


def timezone_names() -> list[str]:
    """Every zone `validate_timezone` accepts, sorted: for time zone pickers."""
    return sorted(_known_timezones() - _HOST_DEPENDENT_ZONES)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(validate_timezone(name))


def _normalise_cron(expression: str) -> str:
    fields: list[str] = _FIELD_RE.findall(expression)
    if len(fields) == 1 and fields[0].lower() in _MACROS:
        return fields[0].lower()
    return " ".join(fields)


@lru_cache(maxsize=1024)
def _cron_template(expression: str) -> croniter:
    """Parse and validate once per expression.

    croniter objects carry iteration state, so callers must work on a copy.
    """
    normalised = _normalise_cron(expression)
    error = ScheduleError(f"invalid cron expression: {expression!r}")
    if not normalised.startswith("@") and len(normalised.split(" ")) != 5:
        raise error
    if normalised.startswith("@") and normalised not in _MACROS:
        raise error  # @reboot has no schedule to monitor
    if _HASHED_OR_RANDOM_RE.search(normalised.lower()):
        raise error
    try:
        template = croniter(normalised, _PROBE_START)
        # Rejects expressions that can never fire, such as "0 0 30 2 *".
        template.get_next(datetime)
    except CroniterError as exc:
        raise error from exc
    return template


def next_due(schedule: Schedule, after: datetime) -> datetime:
    """The first due instant strictly after `after` (aware, any zone), as an aware UTC datetime."""
    after_utc = _as_utc(after, "after")
    if schedule.kind == "interval":
        return after_utc + timedelta(seconds=_validate_seconds(schedule.seconds))
    if schedule.kind == "cron":
        return _next_cron(schedule.expression, _zone(schedule.timezone), after_utc)
    raise ScheduleError(f"unknown schedule kind: {schedule.kind!r}")


def _as_utc(value: datetime, name: str) -> datetime:
    # Converting in UTC also keeps later arithmetic absolute: `+`/`-` on a datetime with a
    # ZoneInfo tzinfo is wall-clock arithmetic.
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value.astimezone(UTC)


def _next_cron(expression: str, zone: ZoneInfo, after: datetime) -> datetime:
    return _next_cron_wall(expression, zone, after)[1]


def _next_cron_wall(expression: str, zone: ZoneInfo, after: datetime) -> tuple[datetime, datetime]:
    """The next due instant after `after`, with the naive wall time the expression named for it."""
    # Wall times up to the wall time of `after` map to instants <= `after` (the wall -> instant
    # mapping below is monotonic), so iteration can start there.
    walls = copy.copy(_cron_template(expression))
    walls.set_current(after.astimezone(zone).replace(tzinfo=None), force=True)
    for _ in range(_MAX_CANDIDATES):
        try:
            wall = walls.get_next(datetime)
        except CroniterError as exc:  # e.g. a leap-day-only schedule near the end of time
            raise _never_due(expression, after) from exc
        # Candidates can still be <= `after` when `after` is in the second pass of a
        # repeated hour: those wall times already fired during the first pass.
        candidate = _wall_to_utc(wall, zone)
        if candidate > after:
            return wall, candidate
    raise _never_due(expression, after)


def previous_due(schedule: Schedule, at: datetime) -> datetime | None:
    """The latest due instant at or before `at` (cron only), by the same DST rules as `next_due`.

    So `previous_due(s, t) <= t < next_due(s, previous_due(s, t))`. Maintenance windows use it
    to find the start of the window that may cover `at`. None when the schedule never fired.
    """
    if schedule.kind != "cron":
        raise ScheduleError("only cron schedules have fixed instants")
    at_utc = _as_utc(at, "at")
    zone = _zone(schedule.timezone)
    local = at_utc.astimezone(zone)
    # In the second pass of a repeated hour, later wall times of that hour already fired
    # (at their first occurrence, before `at`): start above the whole repeated stretch.
    repeated = local.replace(fold=0).utcoffset() - local.replace(fold=1).utcoffset()  # type: ignore[operator]
    start = local.replace(tzinfo=None) + max(repeated, timedelta(0)) + timedelta(seconds=1)
    walls = copy.copy(_cron_template(schedule.expression))
    walls.set_current(start, force=True)
    for _ in range(_MAX_CANDIDATES):
        try:
            wall = walls.get_prev(datetime)
        except CroniterError:
            return None
        candidate = _wall_to_utc(wall, zone)
        if candidate <= at_utc:
            return candidate
    return None


def _never_due(expression: str, after: datetime) -> ScheduleError:
    return ScheduleError(f"cron expression {expression!r} does not fire after {after.isoformat()}")


def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """Map a naive wall time to its due instant: first occurrence if repeated, gap end if skipped."""
    local = wall.replace(tzinfo=zone, fold=0)  # the first occurrence of a repeated time
    if wall_shift(wall, zone) == "gap":
        offset_before = local.utcoffset()
        offset_after = local.replace(fold=1).utcoffset()
        assert offset_before is not None
        assert offset_after is not None
        return _gap_end(wall, zone, offset_before, offset_after)
    return local.astimezone(UTC)


def _gap_end(wall: datetime, zone: ZoneInfo, offset_before: timedelta, offset_after: timedelta) -> datetime:
    """The transition instant that skipped `wall`, found by bisection over whole seconds.

    zoneinfo has no public API for transitions; tz database transitions are whole seconds.
    """
    naive_epoch = datetime(1970, 1, 1)
    before = int((wall - offset_after - naive_epoch).total_seconds())  # still the old offset
    after = int((wall - offset_before - naive_epoch).total_seconds())  # already the new offset
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_before:
            before = middle
        else:
            after = middle
    return datetime.fromtimestamp(after, UTC)


def due_after_finish(
    schedule: Schedule,
    *,
    finished_at: datetime,
    grace_seconds: int,
    awaited_due: datetime | None,
) -> datetime:
    """The next due instant after a job finished (successfully or not).

    For cron, a finish up to `grace_seconds` before a slot counts for that slot, so a job that
    runs slightly early (clock skew, eager schedulers) is not reported late for the slot it served.
    """
    finished = _as_utc(finished_at, "finished_at")
    if schedule.kind != "cron":
        return next_due(schedule, finished)
    grace = timedelta(seconds=grace_seconds)
    if awaited_due is not None:
        awaited = _as_utc(awaited_due, "awaited_due")
        if finished >= awaited - grace:
            return next_due(schedule, max(finished, awaited))
    slot = next_due(schedule, finished)
    if slot - finished <= grace:
        return next_due(schedule, slot)
    return slot


@dataclass(frozen=True)
class DueTime:
    """One coming due instant, for showing a schedule to people."""

    at: datetime  # aware UTC
    # Cron only: the local time the expression names, and whether a DST change moves it.
    wall: datetime | None = None
    shift: Literal["gap", "fold"] | None = None


def upcoming_due_times(schedule: Schedule, after: datetime, count: int = 5) -> list[DueTime]:
    """The next `count` due instants after `after`, by the same rules as `next_due`; a cron
    schedule's also carry the wall time it names and whether a DST change moves it."""
    times: list[DueTime] = []
    moment = _as_utc(after, "after")
    for _ in range(count):
        if schedule.kind != "cron":
            moment = next_due(schedule, moment)
            times.append(DueTime(at=moment))
            continue
        zone = _zone(schedule.timezone)
        wall, moment = _next_cron_wall(schedule.expression, zone, moment)
        times.append(DueTime(at=moment, wall=wall, shift=wall_shift(wall, zone)))
    return times


def wall_shift(wall: datetime, zone: ZoneInfo) -> Literal["gap", "fold"] | None:
    """ "gap" when a DST change skips the naive `wall` time in `zone`, "fold" when it happens
    twice, None when it names one instant."""
    offset_first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    offset_second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert offset_first is not None
    assert offset_second is not None
    # As in _wall_to_utc: zoneinfo gives a skipped time the earlier offset for fold=0.
    if offset_first < offset_second:
        return "gap"
    if offset_first > offset_second:
        return "fold"
    return None
