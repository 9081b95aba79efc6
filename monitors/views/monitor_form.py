"""Creating and editing a monitor, and the schedule preview the form shows while one types.

The form (monitors.monitor_forms) validates through the API's serializer and saves through its
services. Adding or removing an alert rule row posts the form: through htmx only the rules are
answered and swapped; without JavaScript the whole form comes back with the row added or gone.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from monitors.access import HtmxHttpRequest, ProjectAccess, monitor_access, project_access, signed_in
from monitors.models import Monitor
from monitors.monitor_forms import OPERATOR_CHOICES, SCHEDULE_FIELDS, MonitorForm
from monitors.schedule import timezone_names
from monitors.schedule_preview import SchedulePreview, schedule_preview

TEMPLATE = "monitors/monitor_form.html"
RULES_TARGET = "rules"


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
def monitor_create_view(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    access.require_change()
    return _form_page(request, access, None)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
def monitor_edit_view(request: HtmxHttpRequest, monitor_id: int) -> HttpResponse:
    access, monitor = monitor_access(request, monitor_id)
    access.require_change()
    return _form_page(request, access, monitor)


@signed_in
@require_safe
def schedule_preview_view(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """The preview partial for the schedule fields in the query string; a bad schedule shows
    its error (the API's words), never a 500."""
    access = project_access(request, project_id)
    form = MonitorForm(request.GET, project=access.project)
    return render(request, f"{TEMPLATE}#preview", {"preview": _preview(form)})


def _preview(form: MonitorForm) -> SchedulePreview:
    if not form.is_valid():
        return SchedulePreview(error="Type a schedule to see when it is due.")
    return schedule_preview(form.schedule_payload(), now=timezone.now())


def _form_page(request: HtmxHttpRequest, access: ProjectAccess, monitor: Monitor | None) -> HttpResponse:
    if request.method != "POST":
        form = MonitorForm(project=access.project, monitor=monitor, preview_url=_preview_url(access))
        return _render(request, access, form, monitor)
    form = MonitorForm(
        request.POST, project=access.project, monitor=monitor, preview_url=_preview_url(access)
    )
    if form.row_action:
        form.is_valid()
        if request.htmx and request.htmx.target == RULES_TARGET:
            return render(request, f"{TEMPLATE}#rules", _context(access, form, monitor))
        return _render(request, access, form, monitor)
    saved = form.save()
    if saved is None:
        return _render(request, access, form, monitor, status=400)
    messages.success(request, f"Monitor “{saved.name}” {'created' if monitor is None else 'saved'}.")
    return redirect("monitor-detail", monitor_id=saved.id)


def _preview_url(access: ProjectAccess) -> str:
    return reverse("monitor-schedule-preview", args=[access.project.id])


def _context(access: ProjectAccess, form: MonitorForm, monitor: Monitor | None) -> dict[str, Any]:
    action = (
        reverse("monitor-create", args=[access.project.id])
        if monitor is None
        else reverse("monitor-edit", args=[monitor.id])
    )
    return {
        "form": form,
        "monitor": monitor,
        "action": action,
        "operators": OPERATOR_CHOICES,
    }


def _render(
    request: HtmxHttpRequest,
    access: ProjectAccess,
    form: MonitorForm,
    monitor: Monitor | None,
    *,
    status: int = 200,
) -> HttpResponse:
    if not form.is_bound:
        # The preview of the schedule the form starts with: the initial values, as typed.
        preview = _preview(MonitorForm(_initial_data(form), project=access.project))
    else:
        preview = _preview(form)
    context = {**_context(access, form, monitor), "preview": preview, "timezones": timezone_names()}
    return render(request, TEMPLATE, context, status=status)


def _initial_data(form: MonitorForm) -> QueryDict:
    data = QueryDict(mutable=True)
    for name in SCHEDULE_FIELDS:
        value = form.initial.get(name)
        if value is not None:
            data[name] = value
    return data
