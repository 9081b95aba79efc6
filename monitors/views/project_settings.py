"""A project's settings page: name, ping key, status and badge URLs, API keys, maintenance.

Each form posts to its own URL and calls the service the API calls (`project_update`,
`api_key_create` / `api_key_revoke`, `maintenance_window_create` / `_delete`). A form error
re-renders the whole page with that form bound (status 400). A new API key is shown once,
on the page the POST that made it redirects to (`monitors.shown_once`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from alerts.maintenance import window_of
from alerts.models import MaintenanceWindow
from alerts.selectors import maintenance_windows_for_project
from alerts.services import maintenance_window_create, maintenance_window_delete
from monitors.access import ProjectAccess, project_access, signed_in
from monitors.api_keys import api_key_create, api_key_revoke
from monitors.forms import ProjectForm
from monitors.maintenance import window_active_until
from monitors.models import MAX_ID, ApiKey
from monitors.permissions import Permission
from monitors.projects import ProjectError, project_update
from monitors.schedule_words import cron_in_words
from monitors.settings_forms import ApiKeyForm, MaintenanceWindowForm, PingKeyForm
from monitors.shown_once import show_once, take_shown_once

TEMPLATE = "monitors/project_settings.html"


@dataclass(frozen=True)
class WindowRow:
    window: MaintenanceWindow
    recurring: bool
    when: str
    active_until: datetime | None


def _window_rows(access: ProjectAccess) -> list[WindowRow]:
    now = timezone.now()
    rows = []
    for window in maintenance_windows_for_project(project=access.project):
        recurring = bool(window.cron_expression)
        when = cron_in_words(window.cron_expression, window.timezone) if recurring else ""
        rows.append(
            WindowRow(
                window=window,
                recurring=recurring,
                when=when,
                active_until=window_active_until(window_of(window), now),
            )
        )
    return rows


def settings_page(
    request: HttpRequest, access: ProjectAccess, *, status: int = 200, **forms: Any
) -> HttpResponse:
    """The page, with any bound form given in `forms` in place of its empty one."""
    project = access.project
    site = settings.SITE_URL
    badge = reverse("project-badge", kwargs={"badge_key": project.badge_key})
    first = project.monitors.order_by("name", "id").first()
    api_keys = list(ApiKey.objects.filter(project=project).order_by("-created_at", "-id"))
    shown = take_shown_once(request, what="api-key")
    new_key_of = next((key for key in api_keys if shown and key.id == shown.object_id), None)
    context = {
        "form": ProjectForm(initial={"name": project.name}),
        "ping_key_form": PingKeyForm(initial={"ping_key": project.ping_key}),
        "api_key_form": ApiKeyForm(),
        "window_form": MaintenanceWindowForm(),
        "ping_base": f"{site}/ping/{project.ping_key}",
        "status_url": f"{site}{reverse('project-status', kwargs={'status_key': project.status_key})}",
        "badge_url": f"{site}{badge}",
        "badge_path": badge,
        "monitor_badge_url": (
            f"{site}{reverse('monitor-badge', kwargs={'badge_key': project.badge_key, 'slug': first.slug})}"
            if first is not None
            else ""
        ),
        "badge_monitor": first,
        "api_keys": api_keys,
        "new_key": shown.value if shown and new_key_of else "",
        "new_key_of": new_key_of,
        "windows": _window_rows(access),
        **forms,
    }
    return render(request, TEMPLATE, context, status=status)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
def project_settings(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    if request.method != "POST":
        return settings_page(request, access)
    access.require(Permission.CHANGE_PROJECT)
    form = ProjectForm(request.POST, initial={"name": access.project.name})
    if form.is_valid():
        try:
            project_update(project=access.project, name=form.cleaned_data["name"])
        except ProjectError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, "Project renamed.")
            return redirect("project-settings", project_id=access.project.id)
    return settings_page(request, access, form=form)


@signed_in
@require_POST
def ping_key_change(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    access.require(Permission.CHANGE_PROJECT)
    form = PingKeyForm(request.POST)
    if form.is_valid():
        try:
            project_update(project=access.project, ping_key=form.cleaned_data["ping_key"])
        except ProjectError as error:
            access.project.refresh_from_db()
            form.add_error("ping_key" if error.field == "ping_key" else None, error.message)
        else:
            messages.success(request, "Ping key changed: slug ping URLs now use the new key.")
            return redirect("project-settings", project_id=access.project.id)
    return settings_page(request, access, status=400, ping_key_form=form)


@signed_in
@require_POST
def api_key_create_view(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    access.require(Permission.CHANGE_API_KEYS)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return settings_page(request, access, status=400, api_key_form=form)
    api_key, raw_key = api_key_create(
        project=access.project, name=form.cleaned_data["name"], read_only=form.cleaned_data["read_only"]
    )
    show_once(request, what="api-key", object_id=api_key.id, value=raw_key)
    return redirect(reverse("project-settings", kwargs={"project_id": access.project.id}) + "#api-keys")


def _api_key(access: ProjectAccess, key_id: int) -> ApiKey:
    api_key = (
        ApiKey.objects.filter(project=access.project, id=key_id).first() if 0 < key_id <= MAX_ID else None
    )
    if api_key is None:
        raise Http404("No such API key in this project.")
    return api_key


@signed_in
@require_POST
def api_key_revoke_view(request: HttpRequest, project_id: int, key_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    access.require(Permission.CHANGE_API_KEYS)
    api_key = _api_key(access, key_id)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"API key “{api_key.name}” ({api_key.prefix}…) revoked: it no longer works.")
    return redirect("project-settings", project_id=access.project.id)


@signed_in
@require_POST
def maintenance_create_view(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    access.require(Permission.CHANGE_MAINTENANCE)
    form = MaintenanceWindowForm(request.POST)
    if not form.is_valid():
        return settings_page(request, access, status=400, window_form=form)
    maintenance_window_create(project=access.project, **form.cleaned_data["validated"])
    messages.success(request, "Maintenance window added: problems inside it are recorded but not alerted.")
    return redirect(reverse("project-settings", kwargs={"project_id": access.project.id}) + "#maintenance")


@signed_in
@require_POST
def maintenance_delete_view(request: HttpRequest, project_id: int, window_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    access.require(Permission.CHANGE_MAINTENANCE)
    window = (
        maintenance_windows_for_project(project=access.project).filter(id=window_id).first()
        if 0 < window_id <= MAX_ID
        else None
    )
    if window is None:
        raise Http404("No such maintenance window in this project.")
    maintenance_window_delete(window=window)
    messages.success(request, "Maintenance window removed.")
    return redirect(reverse("project-settings", kwargs={"project_id": access.project.id}) + "#maintenance")
