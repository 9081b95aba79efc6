"""Writes to monitors: create, update, pause, resume, delete."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from monitors.models import Monitor, MonitorStatus, Project, ScheduleKind
from monitors.schedule import Schedule, next_due

SCHEDULE_FIELDS = {"schedule_kind", "interval_seconds", "cron_expression", "timezone"}


def schedule_of(monitor: Monitor) -> Schedule:
    if monitor.schedule_kind == ScheduleKind.CRON:
        return Schedule(kind="cron", expression=monitor.cron_expression, timezone=monitor.timezone)
    return Schedule(kind="interval", seconds=monitor.interval_seconds)


def schedule_fields(schedule: Schedule) -> dict[str, Any]:
    if schedule.kind == "cron":
        return {
            "schedule_kind": ScheduleKind.CRON,
            "cron_expression": schedule.expression,
            "timezone": schedule.timezone,
        }
    return {
        "schedule_kind": ScheduleKind.INTERVAL,
        "interval_seconds": schedule.seconds,
        "cron_expression": "",
    }


def open_window(monitor: Monitor, *, start: datetime) -> None:
    """Start a fresh due window at `start` (creation, resume, schedule change)."""
    monitor.window_start = start
    monitor.next_due_at = next_due(schedule_of(monitor), start)
    monitor.deadline = None if monitor.paused else monitor.next_due_at


def monitor_create(
    *,
    project: Project,
    slug: str,
    channel_ids: list[int] | None = None,
    ping_uuid: uuid.UUID | None = None,
    **fields: Any,
) -> Monitor:
    """Create a monitor; without `channel_ids` it gets every channel of its project.

    `ping_uuid` keeps a ping URL from another service; one in use raises IntegrityError.
    """
    now = timezone.now()
    fields.setdefault("name", slug)
    if ping_uuid is not None:
        fields["ping_uuid"] = ping_uuid
    monitor = Monitor(project=project, slug=slug, created_at=now, **fields)
    monitor.status = MonitorStatus.PAUSED if monitor.paused else MonitorStatus.NEW
    open_window(monitor, start=now)
    with transaction.atomic():
        monitor.save()
        channels = (
            project.channels.all() if channel_ids is None else project.channels.filter(id__in=channel_ids)
        )
        monitor.channels.set(channels)
    return monitor


def monitor_get_or_create_by_slug(*, project: Project, slug: str) -> Monitor:
    """`?create=1`: interval 1 day, grace 1 hour, all project channels. Safe under races."""
    try:
        return monitor_create(project=project, slug=slug, interval_seconds=86400, grace_seconds=3600)
    except IntegrityError:
        return Monitor.objects.get(project=project, slug=slug)


def monitor_update(*, monitor: Monitor, channel_ids: list[int] | None = None, **fields: Any) -> Monitor:
    """Apply changed fields; a schedule or grace change re-plans the current window."""
    replan = any(getattr(monitor, name) != value for name, value in fields.items() if name in SCHEDULE_FIELDS)
    replan = replan or ("grace_seconds" in fields and fields["grace_seconds"] != monitor.grace_seconds)
    for name, value in fields.items():
        setattr(monitor, name, value)
    with transaction.atomic():
        if replan:
            open_window(monitor, start=monitor.last_finish_at or monitor.window_start)
            if monitor.deadline is not None:
                # Let the sweeper re-derive status and deadline from the new schedule now.
                monitor.deadline = min(monitor.deadline, timezone.now())
        monitor.revision = F("revision") + 1
        monitor.save()
        monitor.refresh_from_db()
        if channel_ids is not None:
            monitor.channels.set(monitor.project.channels.filter(id__in=channel_ids))
    return monitor


def monitor_pause(*, monitor: Monitor, until: datetime | None = None) -> Monitor:
    """Paused monitors record pings and raise nothing; `until` resumes by itself."""
    Monitor.objects.filter(id=monitor.id).update(
        paused=True,
        paused_until=until,
        status=MonitorStatus.PAUSED,
        deadline=until,
        revision=F("revision") + 1,
    )
    monitor.refresh_from_db()
    return monitor


def monitor_resume(*, monitor: Monitor, now: datetime | None = None) -> Monitor:
    """Resuming starts a fresh due window, so the pause itself is never a missed run."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Monitor.objects.select_for_update().get(id=monitor.id)
        if not locked.paused:
            return locked
        locked.paused = False
        locked.paused_until = None
        locked.consecutive_bad = 0
        open_window(locked, start=now)
        has_open_incident = locked.incidents.filter(resolved_at__isnull=True).exists()
        if has_open_incident:
            locked.status = MonitorStatus.DOWN
        elif locked.open_runs:
            locked.status = MonitorStatus.RUNNING
        else:
            locked.status = MonitorStatus.UP if locked.last_finish_at else MonitorStatus.NEW
        locked.revision += 1
        locked.save()
    return locked


def monitor_delete(*, monitor: Monitor) -> None:
    """Delete a monitor with everything recorded about it (runs, pings, incidents, deliveries)."""
    monitor.delete()
