"""Reads of the audit log: a project's entries, newest first, narrowed by who, what and when.

The page (`/projects/<id>/audit/`) and the API (`GET /api/v1/audit/`) parse the same filters
here: `who` (an e-mail, an API key's name or prefix, or `cli`), `action` (`monitor` or
`monitor.update`), `since` and `until` (dates or ISO 8601 times; `until` as a date is inclusive).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from monitors.models import AuditEntry, AuditVia, Project


class FilterError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class AuditFilters:
    who: str = ""
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None  # exclusive


def _instant(field: str, text: str, *, end_of_day: bool) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    parsed: datetime | date | None
    try:
        parsed = parse_datetime(text) or parse_date(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise FilterError(field, "Give a date (2026-01-31) or a time (2026-01-31T08:00:00Z).")
    if not isinstance(parsed, datetime):
        day = datetime.combine(parsed, time.min)
        parsed = day + timedelta(days=1) if end_of_day else day
    elif end_of_day:
        # `until` is an exclusive bound: a time given is itself included.
        parsed += timedelta(microseconds=1)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
    return parsed


def parse_filters(params: Any) -> AuditFilters:
    """Filters from query parameters (a QueryDict or a dict); FilterError names the bad one."""
    filters = AuditFilters(
        who=str(params.get("who", "") or "").strip()[:254],
        action=str(params.get("action", "") or "").strip()[:50],
        since=_instant("since", str(params.get("since", "") or ""), end_of_day=False),
        until=_instant("until", str(params.get("until", "") or ""), end_of_day=True),
    )
    if filters.since and filters.until and filters.since > filters.until:
        raise FilterError("until", "The end is before the start.")
    return filters


def audit_entries(*, project: Project, filters: AuditFilters | None = None) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.filter(project=project).order_by("-at", "-id")
    if filters is None:
        return entries
    if filters.who:
        who = filters.who
        if who.lower() == AuditVia.CLI:
            entries = entries.filter(via=AuditVia.CLI)
        else:
            entries = entries.filter(
                Q(actor_email__iexact=who) | Q(actor_key_name__iexact=who) | Q(actor_key_prefix__iexact=who)
            )
    if filters.action:
        action = filters.action
        entries = (
            entries.filter(action=action)
            if "." in action
            else entries.filter(action__startswith=f"{action}.")
        )
    if filters.since:
        entries = entries.filter(at__gte=filters.since)
    if filters.until:
        entries = entries.filter(at__lt=filters.until)
    return entries


def audit_actors(*, project: Project) -> list[str]:
    """The names the `who` filter knows for this project, for the page's suggestions."""
    rows = (
        AuditEntry.objects.filter(project=project).values_list("actor_email", "actor_key_prefix").distinct()
    )
    return sorted({email or prefix for email, prefix in rows if email or prefix})


def audit_kinds(*, project: Project) -> list[str]:
    """The kinds of object this project's entries are about (`monitor`, `channel`, …), for the filter."""
    actions = AuditEntry.objects.filter(project=project).values_list("action", flat=True).distinct()
    return sorted({action.split(".", 1)[0] for action in actions})
