"""One run of a monitor, `/monitors/<id>/runs/<run id>/`: its facts and its whole stored log.

The monitor page's "Log" links point here: with JavaScript off they open this page; through
htmx the same URL answers only the log, which the page shows in place.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from monitors.access import HtmxHttpRequest, monitor_access, signed_in
from monitors.models import MAX_ID
from pings.selectors import run_of_monitor, run_outcome

TEMPLATE = "monitors/run_detail.html"


@signed_in
@require_safe
def run_detail(request: HtmxHttpRequest, monitor_id: int, run_id: int) -> HttpResponse:
    _, monitor = monitor_access(request, monitor_id)
    run = run_of_monitor(monitor=monitor, run_id=run_id) if 0 < run_id <= MAX_ID else None
    if run is None:
        raise Http404("No such run of this monitor.")
    context = {
        "monitor": monitor,
        "run": run,
        "outcome": run_outcome(status=run.status, overlap=run.overlap, closed_reason=run.closed_reason),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, f"{TEMPLATE}#log", context)
    return render(request, TEMPLATE, context)
