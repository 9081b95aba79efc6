"""Writes people make through the API on incidents and maintenance windows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from alerts.models import Incident, MaintenanceWindow
from monitors.models import Project


def incident_acknowledge(*, incident: Incident, now: datetime | None = None) -> Incident:
    """Someone is on it: reminders stop. The first acknowledgement's time is the one kept."""
    Incident.objects.filter(id=incident.id, acknowledged_at__isnull=True).update(
        acknowledged_at=now or timezone.now()
    )
    incident.refresh_from_db(fields=["acknowledged_at"])
    return incident


def maintenance_window_create(*, project: Project, **fields: Any) -> MaintenanceWindow:
    return MaintenanceWindow.objects.create(project=project, **fields)


def maintenance_window_update(*, window: MaintenanceWindow, **fields: Any) -> MaintenanceWindow:
    for name, value in fields.items():
        setattr(window, name, value)
    window.save(update_fields=list(fields))
    return window


def maintenance_window_delete(*, window: MaintenanceWindow) -> None:
    window.delete()
