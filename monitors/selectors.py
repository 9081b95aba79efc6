"""Reads of monitors and projects, always scoped to one project."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import BooleanField, Count, Q, QuerySet
from django.db.models.expressions import RawSQL

from monitors.models import Monitor, MonitorStatus, Project
from monitorsite.storable import is_storable_text


def monitors_for_project(
    *, project: Project, tag: str | None = None, status: str | None = None, query: str | None = None
) -> QuerySet[Monitor]:
    monitors = Monitor.objects.filter(project=project).prefetch_related("channels").order_by("name", "id")
    if tag:
        monitors = with_tag(monitors, tag)
    if status:
        monitors = monitors.filter(status=status)
    if query:
        monitors = monitors.filter(
            Q(name__icontains=query) | Q(slug__icontains=query) | Q(description__icontains=query)
        )
    return monitors


def with_tag(monitors: QuerySet[Monitor], tag: str) -> QuerySet[Monitor]:
    """Monitors whose tag list holds exactly `tag`.

    JSON containment (`@>`) exists only on PostgreSQL; SQLite gets the same exact match from
    json_each. A substring match on the stored JSON text would be neither exact nor safe for
    non-ASCII tags, which SQLite stores escaped.
    """
    if not is_storable_text(tag):
        return monitors.none()  # no stored tag holds it, and PostgreSQL would refuse the query
    if connection.vendor == "postgresql":
        return monitors.filter(tags__contains=[tag])
    table = Monitor._meta.db_table
    holds_tag = RawSQL(
        f'EXISTS (SELECT 1 FROM json_each("{table}"."tags") WHERE json_each.value = %s)',
        (tag,),
        output_field=BooleanField(),
    )
    return monitors.filter(holds_tag)


def monitors_in_scope(*, project: Project, tag: str | None = None) -> QuerySet[Monitor]:
    """What the status page, badges and metrics report on: the project, or one tag of it."""
    monitors = Monitor.objects.filter(project=project).order_by("name", "id")
    return with_tag(monitors, tag) if tag else monitors


def project_by_status_key(status_key: str) -> Project | None:
    if not is_storable_text(status_key):
        return None  # no stored key holds it, and PostgreSQL would refuse the query
    return Project.objects.filter(status_key=status_key).first()


def project_by_badge_key(badge_key: str) -> Project | None:
    if not is_storable_text(badge_key):
        return None
    return Project.objects.filter(badge_key=badge_key).first()


def projects_of_user(*, user: User) -> QuerySet[Project]:
    return Project.objects.filter(membership__user=user).order_by("name", "id")


def status_counts(*, project: Project) -> dict[str, int]:
    """Monitors of the project per status, every status present (0 when none)."""
    counts = dict.fromkeys(MonitorStatus.values, 0)
    rows = Monitor.objects.filter(project=project).values_list("status").annotate(count=Count("id"))
    for status, count in rows.order_by():
        counts[status] = count
    return counts


def project_tags(*, project: Project) -> list[str]:
    """Every tag used in the project, sorted, from one query."""
    tags: set[str] = set()
    for monitor_tags in Monitor.objects.filter(project=project).values_list("tags", flat=True):
        tags.update(tag for tag in monitor_tags or () if isinstance(tag, str))
    return sorted(tags, key=str.casefold)
