"""The activity page, `/projects/<id>/activity/`: runs across the project, newest first, with
the filters of `GET /api/v1/runs/` (status, since, monitor, tag), read by the same selector.

Pages go by keyset (`?before=<run id>`), so a deep page costs what the first does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from monitors.access import HtmxHttpRequest, project_access, signed_in
from monitors.forms import ActivityFilterForm
from monitors.models import Monitor
from monitors.selectors import project_tags
from pings.selectors import runs_for_project, without_logs

TEMPLATE = "monitors/activity.html"
PAGE = 50


def _query(params: dict[str, Any]) -> str:
    kept = {name: value for name, value in params.items() if value not in (None, "")}
    return f"?{urlencode(kept)}" if kept else ""


@signed_in
@require_safe
def project_activity(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    project = access.project
    monitors = list(Monitor.objects.filter(project=project).order_by("name", "id").values_list("id", "name"))
    form = ActivityFilterForm(request.GET, monitors=monitors, tags=project_tags(project=project))
    runs = runs_for_project(project=project, **form.feed())
    before = form.cleaned_data.get("before") if form.is_valid() else None
    if before is not None:
        runs = runs.filter(id__lt=before)
    page = list(without_logs(runs)[: PAGE + 1])
    # The filters as typed, so that every link keeps them (an invalid one shows its error again).
    filters = {name: request.GET.get(name, "") for name in ("status", "since", "monitor", "tag")}
    context = {
        "filter_form": form,
        "runs": page[:PAGE],
        "newest_url": request.path + _query(filters) if before is not None else None,
        "older_url": request.path + _query({**filters, "before": page[PAGE - 1].id})
        if len(page) > PAGE
        else None,
        "has_monitors": bool(monitors),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, f"{TEMPLATE}#results", context)
    return render(request, TEMPLATE, context)
