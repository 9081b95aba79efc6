"""What a schedule being typed into the monitor form means: its words, its next due times in
its zone, and a warning for each one a DST change moves. The math is monitors.schedule's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from monitors.schedule import ScheduleError, parse_schedule, upcoming_due_times
from monitors.schedule_words import schedule_in_words

PREVIEW_COUNT = 5


@dataclass(frozen=True)
class PreviewTime:
    at: datetime  # aware UTC
    warning: str = ""  # set when a DST gap or fold moves this due time


@dataclass(frozen=True)
class SchedulePreview:
    words: str = ""
    zone: str = ""  # a cron schedule's zone; "" for an interval (shown in the viewer's zone)
    times: tuple[PreviewTime, ...] = ()
    error: str = ""

    @property
    def warnings(self) -> list[str]:
        return [time.warning for time in self.times if time.warning]


def _wall_words(wall: datetime) -> tuple[str, str]:
    return f"{wall:%H:%M}", f"{wall:%a} {wall.day} {wall:%b %Y}"


def _warning(wall: datetime | None, shift: str | None, zone: str, at: datetime) -> str:
    if wall is None or shift is None:
        return ""
    time, day = _wall_words(wall)
    if shift == "gap":
        local = at.astimezone(ZoneInfo(zone))
        return (
            f"{time} does not exist on {day} in {zone}: the clocks skip it (DST starts). "
            f"The job is due when the gap ends, at {local:%H:%M %Z}."
        )
    return (
        f"{time} happens twice on {day} in {zone}: the clocks go back (DST ends). "
        "The job is due once, at the first of the two."
    )


def schedule_preview(data: object, *, now: datetime) -> SchedulePreview:
    """The preview of an API-shaped schedule (`{"kind": "cron", ...}`); a bad one gives its error."""
    try:
        schedule = parse_schedule(data)
        due = upcoming_due_times(schedule, now, PREVIEW_COUNT)
    except ScheduleError as error:
        return SchedulePreview(error=str(error))
    zone = schedule.timezone if schedule.kind == "cron" else ""
    return SchedulePreview(
        words=schedule_in_words(schedule),
        zone=zone,
        times=tuple(
            PreviewTime(at=time.at, warning=_warning(time.wall, time.shift, zone, time.at)) for time in due
        ),
    )
