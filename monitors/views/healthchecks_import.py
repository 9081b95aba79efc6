"""Import from Healthchecks into the current project, from its settings (`/projects/<id>/settings/import/`).

The same code as `manage.py import_healthchecks` (`monitors.healthchecks_import`), with the
current project as the target and the remote fetched through the SSRF-guarded client: the
URL is typed by a web user and fetched by the server. First a preview (the plan, nothing
written), then the import. The Healthchecks API key is used for one request and never
echoed back: the confirm form asks for it again.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from monitors.access import project_access, signed_in
from monitors.healthchecks_import import (
    HealthchecksImportError,
    healthchecks_fetch,
    import_apply,
    import_plan,
)
from monitors.permissions import Permission
from monitors.settings_forms import HealthchecksImportForm

TEMPLATE = "monitors/healthchecks_import.html"


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
def healthchecks_import_view(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    if request.method != "POST":
        return render(request, TEMPLATE, {"form": HealthchecksImportForm()})
    access.require(Permission.CHANGE_PROJECT)
    form = HealthchecksImportForm(request.POST)
    confirmed = request.POST.get("step") == "import"
    if not form.is_valid():
        return render(request, TEMPLATE, {"form": form}, status=400)
    data = form.cleaned_data
    try:
        export = healthchecks_fetch(url=data["url"], api_key=data["api_key"], guarded=True)
        plan = import_plan(
            export=export, into=access.project, ping_key=data["ping_key"], new_uuids=data["new_uuids"]
        )
        if not confirmed:
            confirm = HealthchecksImportForm(initial={**data, "api_key": ""})
            counts = {action: plan.count(action) for action in ("create", "update", "skip")}
            context = {"form": form, "plan": plan, "counts": counts, "confirm": confirm}
            return render(request, TEMPLATE, context)
        result = import_apply(plan)
    except HealthchecksImportError as error:
        form.add_error(error.field, error.reason if error.field else str(error))
        return render(request, TEMPLATE, {"form": form}, status=400)
    messages.success(
        request,
        f"Imported from Healthchecks: {result.created} created, {result.updated} updated, "
        f"{result.skipped} skipped. Point the cron lines at this site's address; the rest of each URL stays.",
    )
    return redirect("project-dashboard", project_id=access.project.id)
