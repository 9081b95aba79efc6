"""Writes people make through the API on incidents and maintenance windows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from alerts.models import Incident, MaintenanceWindow
from monitors.audit import audit_record, audited_delete, changes
from monitors.models import Project
from monitors.permissions import Permission, require

WINDOW_FIELDS = ("name", "starts_at", "ends_at", "cron_expression", "timezone", "duration_seconds")


def incident_acknowledge(*, incident: Incident, now: datetime | None = None) -> Incident:
    """Someone is on it: reminders stop. The first acknowledgement's time is the one kept."""
    monitor = incident.monitor
    require(Permission.CHANGE_MONITORS, monitor.project)
    with transaction.atomic():
        acknowledged = Incident.objects.filter(id=incident.id, acknowledged_at__isnull=True).update(
            acknowledged_at=now or timezone.now()
        )
        incident.refresh_from_db(fields=["acknowledged_at"])
        if acknowledged:
            audit_record(
                project=monitor.project,
                action="incident.acknowledge",
                obj=incident,
                object_name=f"{monitor.name}: {incident.kind}",
                changes=changes({"acknowledged_at": None}, {"acknowledged_at": incident.acknowledged_at}),
            )
    return incident


def _window_snapshot(window: MaintenanceWindow) -> dict[str, Any]:
    return {name: getattr(window, name) for name in WINDOW_FIELDS}


def maintenance_window_create(*, project: Project, **fields: Any) -> MaintenanceWindow:
    require(Permission.CHANGE_MAINTENANCE, project)
    with transaction.atomic():
        window = MaintenanceWindow.objects.create(project=project, **fields)
        audit_record(
            project=project,
            action="maintenance.create",
            obj=window,
            object_type="maintenance",
            object_name=window.name,
            changes=changes(None, _window_snapshot(window)),
        )
    return window


def maintenance_window_update(*, window: MaintenanceWindow, **fields: Any) -> MaintenanceWindow:
    require(Permission.CHANGE_MAINTENANCE, window.project)
    before = _window_snapshot(window)
    for name, value in fields.items():
        setattr(window, name, value)
    with transaction.atomic():
        window.save(update_fields=list(fields))
        changed = changes(before, _window_snapshot(window))
        if changed:
            audit_record(
                project=window.project,
                action="maintenance.update",
                obj=window,
                object_type="maintenance",
                object_name=window.name,
                changes=changed,
            )
    return window


def maintenance_window_delete(*, window: MaintenanceWindow) -> None:
    require(Permission.CHANGE_MAINTENANCE, window.project)
    audited_delete(
        window,
        project=window.project,
        action="maintenance.delete",
        snapshot=_window_snapshot(window),
        object_type="maintenance",
        object_name=window.name,
    )
