"""Reads of channels, incidents and maintenance windows, always scoped to one project."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from alerts.models import Channel, DeliveryAttempt, Incident, MaintenanceWindow, Notification
from monitors.models import Monitor, Project


def incidents_for_project(
    *, project: Project, monitor_id: int | None = None, is_open: bool | None = None
) -> QuerySet[Incident]:
    """Newest first, with each notification and its delivery attempts in the order they happened."""
    attempts = DeliveryAttempt.objects.order_by("at", "id")
    notifications = (
        Notification.objects.select_related("channel")
        .order_by("id")
        .prefetch_related(Prefetch("attempts", attempts))
    )
    incidents = (
        Incident.objects.filter(monitor__project=project)
        .prefetch_related(Prefetch("notifications", notifications))
        .order_by("-opened_at", "-id")
    )
    if monitor_id is not None:
        incidents = incidents.filter(monitor_id=monitor_id)
    if is_open is not None:
        incidents = incidents.filter(resolved_at__isnull=is_open)
    return incidents


def open_incident_of(*, monitor: Monitor) -> Incident | None:
    """The monitor's open incident (at most one is open), without its deliveries."""
    return Incident.objects.filter(monitor=monitor, resolved_at__isnull=True).first()


def maintenance_windows_for_project(*, project: Project) -> QuerySet[MaintenanceWindow]:
    return MaintenanceWindow.objects.filter(project=project).order_by("id")


def channels_for_project(*, project: Project) -> QuerySet[Channel]:
    """Grouped by kind, then by name; each with the monitors that use it."""
    return Channel.objects.filter(project=project).prefetch_related("monitors").order_by("kind", "name", "id")
