"""Maintenance windows: while one is active, runs are recorded but no problem is alerted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from alerts.models import MaintenanceWindow


def window_active_until(window: MaintenanceWindow, now: datetime) -> datetime | None:
    """When the window covering `now` ends, or None if it does not cover `now`."""
    if window.cron_expression and window.duration_seconds:
        zone = ZoneInfo(window.timezone)
        local_now = now.astimezone(zone).replace(tzinfo=None)
        # The last start at or before now (croniter's get_prev is strict, so nudge forward).
        previous = croniter(window.cron_expression, local_now + timedelta(seconds=1)).get_prev(datetime)
        start = previous.replace(tzinfo=zone).astimezone(UTC)
        end = start + timedelta(seconds=window.duration_seconds)
        return end if start <= now < end else None
    if window.starts_at and window.ends_at and window.starts_at <= now < window.ends_at:
        return window.ends_at
    return None


def project_windows(project_id: int) -> list[MaintenanceWindow]:
    return list(MaintenanceWindow.objects.filter(project_id=project_id))


def maintenance_until(windows: list[MaintenanceWindow], now: datetime) -> datetime | None:
    """The end of the latest-ending window active at `now`, if any."""
    ends = [end for window in windows if (end := window_active_until(window, now)) is not None]
    return max(ends) if ends else None
