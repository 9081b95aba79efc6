"""Writes to monitors: create, update, pause, resume.

Every write that touches state locks the row, goes through monitors.state and writes only the
columns it changes (and bumps `revision`), so a ping committed in between is never overwritten.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from monitors.models import Monitor, Project, ScheduleKind
from monitors.schedule import Schedule
from monitors.state import Edit, Event, Pause, Resume, apply
from monitors.state_rows import changed_columns, config_of, state_init, state_of


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
    state_init(monitor, now=now)
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


def monitor_update(
    *, monitor: Monitor, channel_ids: list[int] | None = None, now: datetime | None = None, **fields: Any
) -> Monitor:
    """Apply changed fields; a schedule or grace change re-plans the current window."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(monitor)
        edited = {name: value for name, value in fields.items() if getattr(locked, name) != value}
        before = state_of(locked)
        for name, value in edited.items():
            setattr(locked, name, value)
        after = apply(before, Edit(at=now, config=config_of(locked))).state
        _write(locked, {**edited, **changed_columns(before, after)})
        if channel_ids is not None:
            locked.channels.set(locked.project.channels.filter(id__in=channel_ids))
    locked.refresh_from_db()
    return locked


def monitor_pause(*, monitor: Monitor, until: datetime | None = None, now: datetime | None = None) -> Monitor:
    """Paused monitors record pings and raise nothing; `until` resumes by itself."""
    return _transition(monitor, Pause(at=now or timezone.now(), until=until))


def monitor_resume(*, monitor: Monitor, now: datetime | None = None) -> Monitor:
    """Resuming starts a fresh due window, so the pause itself is never a missed run."""
    return _transition(monitor, Resume(at=now or timezone.now()))


def _transition(monitor: Monitor, event: Event) -> Monitor:
    with transaction.atomic():
        locked = _locked(monitor)
        before = state_of(locked)
        transition = apply(before, event)
        # Pause, resume and edit never produce incident effects: only pings and time do.
        assert not transition.effects, transition.effects
        _write(locked, changed_columns(before, transition.state))
    locked.refresh_from_db()
    return locked


def monitor_delete(*, monitor: Monitor) -> None:
    """Delete a monitor with everything recorded about it (runs, pings, incidents, deliveries)."""
    monitor.delete()


def _locked(monitor: Monitor) -> Monitor:
    """The row, locked until the transaction ends (PostgreSQL; SQLite's write lock is taken at BEGIN)."""
    return Monitor.objects.select_for_update(of=("self",)).select_related("project").get(id=monitor.id)


def _write(monitor: Monitor, columns: dict[str, Any]) -> None:
    """Only the columns that changed, and the revision that tells the ping path's write it lost."""
    Monitor.objects.filter(id=monitor.id).update(revision=F("revision") + 1, **columns)
