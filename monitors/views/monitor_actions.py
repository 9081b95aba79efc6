"""What a member can do on a monitor's page: pause (optionally until a time), resume,
acknowledge its open incident, delete it after a confirmation.

Each goes through the service the API calls, behind `access.require_change()` (403) and CSRF.
With htmx an action answers the page's parts it changed (swapped out of band, no reload);
without JavaScript it redirects back to the page with a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from alerts.services import incident_acknowledge
from monitors.access import HtmxHttpRequest, ProjectAccess, monitor_access, signed_in
from monitors.forms import PauseForm
from monitors.models import MAX_ID, Monitor
from monitors.services import monitor_delete, monitor_pause, monitor_resume
from monitors.views.monitors import TEMPLATE, incident_views, live_context, page_context


def _changed(request: HtmxHttpRequest, access: ProjectAccess, monitor: Monitor, message: str) -> HttpResponse:
    if request.htmx:
        context = {
            **live_context(monitor),
            "access": access,
            "pause_form": PauseForm(),
            "incidents": incident_views(monitor),
            "done": message,
            "oob": True,
        }
        return render(request, f"{TEMPLATE}#changed", context)
    messages.success(request, message)
    return redirect("monitor-detail", monitor_id=monitor.id)


@signed_in
@require_POST
def monitor_pause_view(request: HtmxHttpRequest, monitor_id: int) -> HttpResponse:
    access, monitor = monitor_access(request, monitor_id)
    access.require_change()
    form = PauseForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            context = {"monitor": monitor, "access": access, "pause_form": form, "oob": True}
            return render(request, f"{TEMPLATE}#controls", context)
        context = page_context(request, access, monitor, pause_form=form)
        return render(request, TEMPLATE, context, status=400)
    until = form.cleaned_data["until"]
    monitor = monitor_pause(monitor=monitor, until=until)
    return _changed(request, access, monitor, "Paused until the time set." if until else "Paused.")


@signed_in
@require_POST
def monitor_resume_view(request: HtmxHttpRequest, monitor_id: int) -> HttpResponse:
    access, monitor = monitor_access(request, monitor_id)
    access.require_change()
    monitor = monitor_resume(monitor=monitor)
    return _changed(request, access, monitor, "Resumed: a fresh window starts now.")


@signed_in
@require_POST
def incident_acknowledge_view(request: HtmxHttpRequest, monitor_id: int, incident_id: int) -> HttpResponse:
    access, monitor = monitor_access(request, monitor_id)
    access.require_change()
    incident = monitor.incidents.filter(id=incident_id).first() if 0 < incident_id <= MAX_ID else None
    if incident is None:
        raise Http404("No such incident of this monitor.")
    incident_acknowledge(incident=incident)
    return _changed(request, access, monitor, "Incident acknowledged: its reminders stop.")


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
def monitor_delete_view(request: HtmxHttpRequest, monitor_id: int) -> HttpResponse:
    """A confirmation page; its POST deletes the monitor and everything recorded about it."""
    access, monitor = monitor_access(request, monitor_id)
    access.require_change()
    if request.method == "POST":
        name = monitor.name
        monitor_delete(monitor=monitor)
        messages.success(request, f"Monitor “{name}” deleted.")
        return redirect("project-dashboard", project_id=access.project.id)
    context = {"monitor": monitor, "runs": monitor.runs.count(), "incidents": monitor.incidents.count()}
    return render(request, "monitors/monitor_delete.html", context)
