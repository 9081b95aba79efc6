"""A monitor's page, `/monitors/<id>/`: the link every notification carries."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from monitors.access import monitor_access, signed_in
from monitors.schedule_words import schedule_in_words
from monitors.services import schedule_of


@signed_in
@require_safe
def monitor_detail(request: HttpRequest, monitor_id: int) -> HttpResponse:
    """A first, plain page (name, status, ping URL, schedule); issue 9 item 3 replaces it."""
    _, monitor = monitor_access(request, monitor_id)
    context = {"monitor": monitor, "schedule": schedule_in_words(schedule_of(monitor))}
    return render(request, "monitors/monitor_detail.html", context)
