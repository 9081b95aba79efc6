"""Maintenance windows read as monitors.maintenance's plain data (the rules live there)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from alerts.models import MaintenanceWindow
from monitors.maintenance import Window


def window_of(row: MaintenanceWindow) -> Window:
    return Window(
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        cron_expression=row.cron_expression,
        timezone=row.timezone,
        duration_seconds=row.duration_seconds,
    )


def project_windows(project_id: int) -> tuple[Window, ...]:
    return tuple(window_of(row) for row in MaintenanceWindow.objects.filter(project_id=project_id))


def windows_by_project(project_ids: Iterable[int]) -> dict[int, tuple[Window, ...]]:
    """Every window of these projects, in one read."""
    found: dict[int, list[Window]] = defaultdict(list)
    for row in MaintenanceWindow.objects.filter(project_id__in=set(project_ids)):
        found[row.project_id].append(window_of(row))
    return {project_id: tuple(windows) for project_id, windows in found.items()}
