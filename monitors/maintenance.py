"""Maintenance windows as plain data, and when one covers an instant (pure, no ORM).

A window is one-off (`starts_at`..`ends_at`) or recurring (a cron expression in a time zone,
lasting `duration_seconds` from each start). Recurring starts follow monitors.schedule's DST
rules, the same as a monitor's cron schedule: a start skipped by a spring-forward gap begins
when the gap ends, a repeated one at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitors.schedule import Schedule, previous_due


@dataclass(frozen=True)
class Window:
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    cron_expression: str = ""
    timezone: str = "UTC"
    duration_seconds: int | None = None


def window_active_until(window: Window, at: datetime) -> datetime | None:
    """When the window covering `at` ends, or None if it does not cover `at`."""
    if window.cron_expression and window.duration_seconds:
        schedule = Schedule(kind="cron", expression=window.cron_expression, timezone=window.timezone)
        start = previous_due(schedule, at)
        if start is None:
            return None
        end = start + timedelta(seconds=window.duration_seconds)
        return end if at < end else None
    if window.starts_at and window.ends_at and window.starts_at <= at < window.ends_at:
        return window.ends_at
    return None


def maintenance_until(windows: Iterable[Window], at: datetime) -> datetime | None:
    """The end of the latest-ending window active at `at`, if any."""
    ends = [end for window in windows if (end := window_active_until(window, at)) is not None]
    return max(ends) if ends else None
