"""The project's incidents page, `/projects/<id>/incidents/`: what is open now and what happened
lately, across every monitor, with each incident's deliveries summed up; acknowledge in place.

Acknowledging goes through `alerts.services.incident_acknowledge`, as the API's does. The page
reads a bounded number of incidents with their monitors and deliveries prefetched, so its query
count does not grow with the number of incidents.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from alerts.models import DeliveryStatus, Incident
from alerts.selectors import incidents_for_project
from alerts.services import incident_acknowledge
from monitors.access import HtmxHttpRequest, ProjectAccess, project_access, signed_in
from monitors.models import MAX_ID

TEMPLATE = "monitors/incidents.html"
RECENT_DAYS = 30
RECENT_SHOWN = 50
# The order deliveries are summed up in: what needs a look first.
_DELIVERY_ORDER = (
    DeliveryStatus.FAILED,
    DeliveryStatus.RETRYING,
    DeliveryStatus.PENDING,
    DeliveryStatus.DELIVERED,
)


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    duration_seconds: int
    deliveries: list[tuple[str, int]]  # (status, count), in _DELIVERY_ORDER

    @property
    def kinds(self) -> list[str]:
        return list(self.incident.kinds) or [self.incident.kind]


def _row(incident: Incident, now: datetime) -> IncidentRow:
    counts = Counter(notification.status for notification in incident.notifications.all())
    return IncidentRow(
        incident=incident,
        duration_seconds=int(((incident.resolved_at or now) - incident.opened_at).total_seconds()),
        deliveries=[(status.value, counts[status]) for status in _DELIVERY_ORDER if counts[status]],
    )


def _incidents(access: ProjectAccess) -> QuerySet[Incident]:
    return incidents_for_project(project=access.project).select_related("monitor")


@signed_in
@require_safe
def project_incidents(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    now = timezone.now()
    open_incidents = _incidents(access).filter(resolved_at__isnull=True)
    recent = _incidents(access).filter(resolved_at__gte=now - timedelta(days=RECENT_DAYS))[:RECENT_SHOWN]
    context = {
        "open_rows": [_row(incident, now) for incident in open_incidents],
        "recent_rows": [_row(incident, now) for incident in recent],
        "recent_days": RECENT_DAYS,
        "recent_shown": RECENT_SHOWN,
    }
    return render(request, TEMPLATE, context)


@signed_in
@require_POST
def incident_acknowledge_view(request: HtmxHttpRequest, project_id: int, incident_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    access.require_change()
    incident = _incidents(access).filter(id=incident_id).first() if 0 < incident_id <= MAX_ID else None
    if incident is None:
        raise Http404("No such incident in this project.")
    incident_acknowledge(incident=incident)
    if request.htmx:
        context = {"row": _row(incident, timezone.now()), "done": True}
        return render(request, f"{TEMPLATE}#incident_row", context)
    messages.success(request, f"Incident of “{incident.monitor.name}” acknowledged: its reminders stop.")
    return redirect("project-incidents", project_id=access.project.id)
