"""The dashboard: every monitor of a project at a glance, refreshed by htmx polling."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe
from django_htmx.http import push_url

from monitors.access import HtmxHttpRequest, ProjectAccess, current_access, project_access, signed_in
from monitors.dashboard_rows import dashboard_rows, monitor_rows
from monitors.forms import DashboardFilterForm, ProjectForm
from monitors.models import MonitorStatus
from monitors.selectors import monitors_for_project, project_tags, status_counts
from pings.selectors import RECENT_RUNS, recent_outcomes

# The summary strip's order: what needs attention reads first after "up".
SUMMARY_ORDER = (
    MonitorStatus.UP,
    MonitorStatus.LATE,
    MonitorStatus.DOWN,
    MonitorStatus.RUNNING,
    MonitorStatus.PAUSED,
    MonitorStatus.NEW,
)
FIRST_MONITOR_SLUG = "my-first-job"


@dataclass(frozen=True)
class SummaryItem:
    status: str
    count: int
    url: str
    current: bool


@signed_in
@require_safe
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    """`/`: the current project's dashboard (the session's, else the user's first project)."""
    access = current_access(request)
    if access is None:
        return render(request, "monitors/no_project.html", {"form": ProjectForm()})
    return _dashboard(request, access)


@signed_in
@require_safe
def project_dashboard(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """`/projects/<id>/`: one project's dashboard, at a URL that can be shared."""
    return _dashboard(request, project_access(request, project_id))


def _query_string(**params: str | None) -> str:
    kept = {name: value for name, value in params.items() if value}
    return f"?{urlencode(kept)}" if kept else ""


def _dashboard(request: HtmxHttpRequest, access: ProjectAccess) -> HttpResponse:
    project = access.project
    filter_form = DashboardFilterForm(request.GET)
    filters = filter_form.filters()
    # The API's selector, without its channel prefetch (the dashboard shows no channels), as
    # plain rows: a thousand model instances would cost more than the page's queries.
    monitors = monitors_for_project(project=project, **filters).prefetch_related(None)
    rows = monitor_rows(monitors)
    outcomes = recent_outcomes(monitor_ids=[row.id for row in rows])
    counts = status_counts(project=project)
    first_ping_url = f"{settings.SITE_URL}/ping/{project.ping_key}/{FIRST_MONITOR_SLUG}?create=1"
    # Filters as the URL keeps them: empty fields dropped, so shared links stay short.
    query = _query_string(status=filters.get("status"), tag=filters.get("tag"), q=filters.get("query"))
    context = {
        "filter_form": filter_form,
        "tags": project_tags(project=project),
        "rows": rows,
        "rows_html": dashboard_rows(rows, outcomes),
        "total": sum(counts.values()),
        "summary": [
            SummaryItem(
                status=status,
                count=counts[status],
                url=request.path
                + _query_string(status=status, tag=filters.get("tag"), q=filters.get("query")),
                current=filters.get("status") == status,
            )
            for status in SUMMARY_ORDER
        ],
        "clear_url": request.path,
        "poll_url": request.path + query,
        "refresh_seconds": settings.DASHBOARD_REFRESH_SECONDS,
        "recent_runs": RECENT_RUNS,
        "now": timezone.now(),
        "first_ping_slug": FIRST_MONITOR_SLUG,
        "first_ping_curl": f'curl -fsS -m 10 --retry 5 "{first_ping_url}"',
    }
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "monitors/dashboard.html#live", context)
        # A filter change (not a poll) moves the address bar, so the URL holds the filters.
        if request.htmx.trigger == "dashboard-filters":
            push_url(response, request.path + query)
        return response
    return render(request, "monitors/dashboard.html", context)
