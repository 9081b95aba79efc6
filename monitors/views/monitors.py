"""A monitor's page, `/monitors/<id>/`: the link every notification carries.

One URL serves the page and its live partials, picked by the htmx target: `monitor-live`
(status, times, the last runs' ticks, the open incident) and `history` (a page of runs, its
head polled while it is the first page). Every read is bounded whatever the history holds:
a keyset page of runs, the chart's last runs, the stats' 30-day window, the last incidents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_safe

from alerts.models import Incident
from alerts.selectors import incidents_for_project, open_incident_of
from monitors.access import HtmxHttpRequest, ProjectAccess, monitor_access, signed_in
from monitors.duration_chart import duration_chart
from monitors.forms import PauseForm, RunHistoryForm
from monitors.models import Monitor, MonitorStatus, ScheduleKind
from monitors.ping_snippets import ping_snippets
from monitors.schedule import upcoming_due_times
from monitors.schedule_words import schedule_in_words
from monitors.state_rows import schedule_of
from pings.selectors import duration_points, ignored_pings, monitor_run_stats, recent_outcomes, run_history
from triggers.selectors import run_now_panel

TEMPLATE = "monitors/monitor_detail.html"
LIVE_TARGET = "monitor-live"
HISTORY_TARGET = "history"
INCIDENTS_SHOWN = 10
DUE_TIMES_SHOWN = 5


@signed_in
@require_safe
def monitor_detail(request: HtmxHttpRequest, monitor_id: int) -> HttpResponse:
    access, monitor = monitor_access(request, monitor_id)
    history = RunHistoryForm(request.GET)
    if request.htmx and not request.htmx.history_restore_request:
        if request.htmx.target == LIVE_TARGET:
            return render(request, f"{TEMPLATE}#live", live_context(monitor))
        if request.htmx.target == HISTORY_TARGET:
            return render(request, f"{TEMPLATE}#history", history_context(request, monitor, history))
    return render(request, TEMPLATE, page_context(request, access, monitor, history=history))


def live_context(monitor: Monitor) -> dict[str, Any]:
    """What the polled panel shows: the monitor's state now."""
    return {
        "monitor": monitor,
        "open_incident": open_incident_of(monitor=monitor),
        "outcomes": recent_outcomes(monitor_ids=[monitor.id])[monitor.id],
        "ignored_pings": ignored_pings(monitor=monitor),
        "now": timezone.now(),
        "refresh_seconds": settings.DASHBOARD_REFRESH_SECONDS,
    }


def _query(**params: Any) -> str:
    kept = {name: value for name, value in params.items() if value not in (None, "")}
    return f"?{urlencode(kept)}" if kept else ""


def history_context(request: HtmxHttpRequest, monitor: Monitor, form: RunHistoryForm) -> dict[str, Any]:
    page = form.page()
    runs = run_history(monitor=monitor, **page)
    status = page.get("status")
    path = request.path
    return {
        "monitor": monitor,
        "history_form": form,
        "runs": runs.runs,
        "status_filter": status,
        "first_page": page.get("before") is None,
        # Polls and the filter keep the status; the pager moves through the keyset.
        "history_url": path + _query(status=status),
        "newest_url": None if page.get("before") is None else path + _query(status=status),
        "older_url": None if runs.older is None else path + _query(status=status, before=runs.older),
        "refresh_seconds": settings.DASHBOARD_REFRESH_SECONDS,
    }


@dataclass(frozen=True)
class LogEntry:
    at: datetime | None
    message: str


@dataclass(frozen=True)
class IncidentView:
    incident: Incident
    log: list[LogEntry]


def incident_views(monitor: Monitor) -> list[IncidentView]:
    """The monitor's last incidents with their deliveries; their log's times parsed for display."""
    incidents = incidents_for_project(project=monitor.project, monitor_id=monitor.id)[:INCIDENTS_SHOWN]
    return [
        IncidentView(
            incident=incident,
            log=[
                LogEntry(at=parse_datetime(str(entry.get("at", ""))), message=str(entry.get("message", "")))
                for entry in incident.log
                if isinstance(entry, dict)
            ],
        )
        for incident in incidents
    ]


def page_context(
    request: HtmxHttpRequest,
    access: ProjectAccess,
    monitor: Monitor,
    *,
    history: RunHistoryForm | None = None,
    pause_form: PauseForm | None = None,
) -> dict[str, Any]:
    now = timezone.now()
    schedule = schedule_of(monitor)
    stats = monitor_run_stats(monitor=monitor, now=now)
    due_times: list[datetime] = []
    if monitor.status != MonitorStatus.PAUSED:
        # The awaited due time first, when it is still ahead; then the schedule's next ones.
        awaited = monitor.next_due_at if monitor.next_due_at and monitor.next_due_at > now else None
        if awaited is not None:
            due_times.append(awaited)
        coming = upcoming_due_times(schedule, awaited or now, DUE_TIMES_SHOWN - len(due_times))
        due_times.extend(due.at for due in coming)
    return {
        **live_context(monitor),
        **history_context(request, monitor, history or RunHistoryForm({})),
        "schedule": schedule_in_words(schedule),
        # A cron schedule's times belong to its zone; an interval's are shown in the viewer's.
        "zone": monitor.timezone if monitor.schedule_kind == ScheduleKind.CRON else "",
        "due_times": due_times,
        "stats": stats,
        "chart": duration_chart(
            duration_points(monitor=monitor), p50=stats.duration_ms["p50"], p95=stats.duration_ms["p95"]
        ),
        "incidents": incident_views(monitor),
        "channels": [channel.name for channel in monitor.channels.order_by("name", "id")],
        "snippets": ping_snippets(monitor.ping_url, body_limit=settings.PING_BODY_LIMIT)
        if access.can_change
        else [],
        "runbook_url": monitor.runbook_url if monitor.runbook_url.startswith(("https://", "http://")) else "",
        "pause_form": pause_form or PauseForm(),
        "run_now": run_now_panel(monitor=monitor),
    }
