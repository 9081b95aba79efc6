"""Writes to monitors: create, update, pause, resume, delete.

Each asks `monitors.permissions.require` first (nothing is written when it refuses) and leaves
an audit entry (`monitors.audit`) in the same transaction as its change.

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

from monitors.audit import audit_record, audited_delete, changes
from monitors.models import Monitor, Project, ScheduleKind
from monitors.permissions import Permission, require
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


# What a person would call a monitor's settings, as the audit log shows them. Never the ping
# uuid: it is the secret in the ping URL.
AUDITED_FIELDS = (
    "name",
    "slug",
    "description",
    "tags",
    "grace_seconds",
    "max_duration_seconds",
    "failure_threshold",
    "recovery_threshold",
    "allow_overlap",
    "rules",
    "resume_on_ping",
    "methods",
    "keywords",
    "runbook_url",
    "notify_every_failures",
    "paused",
    "paused_until",
)


def monitor_snapshot(monitor: Monitor) -> dict[str, Any]:
    snapshot = {name: getattr(monitor, name) for name in AUDITED_FIELDS}
    snapshot["schedule"] = monitor.schedule
    snapshot["channels"] = sorted(monitor.channels.values_list("id", flat=True)) if monitor.pk else []
    return snapshot


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
    require(Permission.CHANGE_MONITORS, project)
    with transaction.atomic():
        monitor = _insert(project=project, slug=slug, channel_ids=channel_ids, ping_uuid=ping_uuid, **fields)
        audit_record(
            project=project,
            action="monitor.create",
            obj=monitor,
            changes=changes(None, monitor_snapshot(monitor)),
        )
    return monitor


def _insert(
    *,
    project: Project,
    slug: str,
    channel_ids: list[int] | None = None,
    ping_uuid: uuid.UUID | None = None,
    **fields: Any,
) -> Monitor:
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
    """`?create=1`: interval 1 day, grace 1 hour, all project channels. Safe under races.

    The ping key in the URL is the authority here (no actor, no audit entry: a ping is no person).
    """
    try:
        return _insert(project=project, slug=slug, interval_seconds=86400, grace_seconds=3600)
    except IntegrityError:
        return Monitor.objects.get(project=project, slug=slug)


def monitor_update(
    *, monitor: Monitor, channel_ids: list[int] | None = None, now: datetime | None = None, **fields: Any
) -> Monitor:
    """Apply changed fields; a schedule or grace change re-plans the current window."""
    now = now or timezone.now()
    require(Permission.CHANGE_MONITORS, monitor.project)
    with transaction.atomic():
        locked = _locked(monitor)
        snapshot = monitor_snapshot(locked)
        edited = {name: value for name, value in fields.items() if getattr(locked, name) != value}
        before = state_of(locked)
        for name, value in edited.items():
            setattr(locked, name, value)
        after = apply(before, Edit(at=now, config=config_of(locked))).state
        _write(locked, {**edited, **changed_columns(before, after)})
        if channel_ids is not None:
            locked.channels.set(locked.project.channels.filter(id__in=channel_ids))
        locked.refresh_from_db()
        _audit(locked, "monitor.update", snapshot)
    return locked


def monitor_pause(*, monitor: Monitor, until: datetime | None = None, now: datetime | None = None) -> Monitor:
    """Paused monitors record pings and raise nothing; `until` resumes by itself."""
    return _transition(monitor, Pause(at=now or timezone.now(), until=until), "monitor.pause")


def monitor_resume(*, monitor: Monitor, now: datetime | None = None) -> Monitor:
    """Resuming starts a fresh due window, so the pause itself is never a missed run."""
    return _transition(monitor, Resume(at=now or timezone.now()), "monitor.resume")


def _transition(monitor: Monitor, event: Event, action: str) -> Monitor:
    require(Permission.CHANGE_MONITORS, monitor.project)
    with transaction.atomic():
        locked = _locked(monitor)
        snapshot = monitor_snapshot(locked)
        before = state_of(locked)
        transition = apply(before, event)
        # Pause, resume and edit never produce incident effects: only pings and time do.
        assert not transition.effects, transition.effects
        _write(locked, changed_columns(before, transition.state))
        locked.refresh_from_db()
        _audit(locked, action, snapshot, always=True)
    return locked


def monitor_delete(*, monitor: Monitor) -> None:
    """Delete a monitor with everything recorded about it (runs, pings, incidents, deliveries)."""
    require(Permission.CHANGE_MONITORS, monitor.project)
    audited_delete(
        monitor, project=monitor.project, action="monitor.delete", snapshot=monitor_snapshot(monitor)
    )


def _audit(monitor: Monitor, action: str, before: dict[str, Any], *, always: bool = False) -> None:
    """An entry for what changed; an edit that changed nothing leaves none."""
    changed = changes(before, monitor_snapshot(monitor))
    if changed or always:
        audit_record(project=monitor.project, action=action, obj=monitor, changes=changed)


def _locked(monitor: Monitor) -> Monitor:
    """The row, locked until the transaction ends (PostgreSQL; SQLite's write lock is taken at BEGIN)."""
    return Monitor.objects.select_for_update(of=("self",)).select_related("project").get(id=monitor.id)


def _write(monitor: Monitor, columns: dict[str, Any]) -> None:
    """Only the columns that changed, and the revision that tells the ping path's write it lost."""
    Monitor.objects.filter(id=monitor.id).update(revision=F("revision") + 1, **columns)
