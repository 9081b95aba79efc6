"""The monitor page's "Run now" button: a POST (CSRF) that asks the monitor's trigger for a run.

With htmx it answers the page's Run now panel (the request's life shows there, polled while it
moves); without JavaScript it redirects back with a message. The panel's poll is a GET here too.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from monitors.access import HtmxHttpRequest, ProjectAccess, monitor_access, signed_in
from monitors.models import Monitor
from triggers.selectors import run_now_panel
from triggers.services import NoTrigger, run_request_create

PAGE = "monitors/monitor_detail.html"


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
def run_now_view(request: HtmxHttpRequest, monitor_id: int) -> HttpResponse:
    access, monitor = monitor_access(request, monitor_id)
    if request.method != "POST":
        if not request.htmx:
            return redirect("monitor-detail", monitor_id=monitor.id)
        return render(request, f"{PAGE}#run-now", _context(monitor, access))
    access.require_change()
    error = done = ""
    try:
        run_request_create(monitor=monitor, requested_by=request.user.get_username())
        done = "Run requested: it shows below as it goes."
    except NoTrigger as refusal:
        error = str(refusal)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect("monitor-detail", monitor_id=monitor.id)
    context = {**_context(monitor, access), "run_now_done": done, "run_now_error": error}
    return render(request, f"{PAGE}#run-now", context)


def _context(monitor: Monitor, access: ProjectAccess) -> dict[str, Any]:
    return {
        "monitor": monitor,
        "access": access,
        "run_now": run_now_panel(monitor=monitor),
        "refresh_seconds": settings.DASHBOARD_REFRESH_SECONDS,
    }
