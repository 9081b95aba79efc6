"""The channels page: list (targets masked), add, edit, delete, "Send test", rotate a secret.

Writes go through `alerts.channels` (the services the API calls), validation through the
API's serializer (`monitors.channel_forms`). A webhook's signing secret is shown once, on
the list the POST that made it redirects to (`monitors.shown_once`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from alerts.channel_targets import masked_target
from alerts.channels import (
    channel_create,
    channel_delete,
    channel_rotate_secret,
    channel_send_test,
    channel_update,
)
from alerts.models import Channel, ChannelKind
from alerts.selectors import channels_for_project
from monitors.access import HtmxHttpRequest, ProjectAccess, project_access, signed_in
from monitors.channel_forms import KIND_NAMES, ChannelForm
from monitors.models import MAX_ID
from monitors.permissions import Permission
from monitors.shown_once import show_once, take_shown_once

TEMPLATE = "monitors/channels.html"


@dataclass(frozen=True)
class ChannelRow:
    channel: Channel
    kind_name: str
    target: str
    monitors: list[str]


def kinds_offered() -> list[tuple[str, str]]:
    kinds = [ChannelKind.EMAIL, ChannelKind.SLACK, ChannelKind.WEBHOOK]
    if settings.APPRISE_ENABLED:
        kinds.append(ChannelKind.APPRISE)
    return [(kind.value, KIND_NAMES[kind]) for kind in kinds]


def _channel(access: ProjectAccess, channel_id: int) -> Channel:
    channel = (
        Channel.objects.filter(project=access.project, id=channel_id).first()
        if 0 < channel_id <= MAX_ID
        else None
    )
    if channel is None:
        raise Http404("No such channel in this project.")
    return channel


def _list_page(request: HttpRequest, access: ProjectAccess) -> HttpResponse:
    shown = take_shown_once(request, what="webhook-secret")
    rows = [
        ChannelRow(
            channel=channel,
            kind_name=KIND_NAMES.get(ChannelKind(channel.kind), channel.kind),
            target=masked_target(channel),
            monitors=sorted(monitor.name for monitor in channel.monitors.all()),
        )
        for channel in channels_for_project(project=access.project)
    ]
    secret_of = next((row.channel for row in rows if shown and row.channel.id == shown.object_id), None)
    context = {
        "rows": rows,
        "kinds": kinds_offered(),
        "secret": shown.value if shown and secret_of else "",
        "secret_of": secret_of,
    }
    return render(request, TEMPLATE, context)


@signed_in
@require_http_methods(["GET", "HEAD"])
def channel_list(request: HttpRequest, project_id: int) -> HttpResponse:
    return _list_page(request, project_access(request, project_id))


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
def channel_add(request: HttpRequest, project_id: int, kind: str) -> HttpResponse:
    access = project_access(request, project_id)
    if kind not in dict(kinds_offered()):
        raise Http404("No such kind of channel.")
    form = ChannelForm(request.POST if request.method == "POST" else None, project=access.project, kind=kind)
    if request.method == "POST":
        access.require(Permission.CHANGE_CHANNELS)
        if form.is_valid():
            channel = channel_create(project=access.project, **form.service_arguments())
            messages.success(request, f"Channel “{channel.name}” added.")
            if channel.kind == ChannelKind.WEBHOOK:
                show_once(request, what="webhook-secret", object_id=channel.id, value=channel.secret)
            return redirect("project-channels", project_id=access.project.id)
    context = {"form": form, "kind": kind, "kind_name": KIND_NAMES[ChannelKind(kind)], "channel": None}
    return render(request, "monitors/channel_form.html", context, status=400 if form.errors else 200)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
def channel_edit(request: HttpRequest, project_id: int, channel_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    channel = _channel(access, channel_id)
    data = request.POST if request.method == "POST" else None
    form = ChannelForm(data, project=access.project, kind=channel.kind, channel=channel)
    if request.method == "POST":
        access.require(Permission.CHANGE_CHANNELS)
        if form.is_valid():
            channel_update(channel=channel, **form.service_arguments())
            messages.success(request, f"Channel “{channel.name}” saved.")
            return redirect("project-channels", project_id=access.project.id)
    context = {
        "form": form,
        "kind": channel.kind,
        "kind_name": KIND_NAMES.get(ChannelKind(channel.kind), channel.kind),
        "channel": channel,
        "target": masked_target(channel),
    }
    return render(request, "monitors/channel_form.html", context, status=400 if form.errors else 200)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
def channel_delete_view(request: HttpRequest, project_id: int, channel_id: int) -> HttpResponse:
    """A confirmation page; its POST deletes the channel (monitors then no longer notify it)."""
    access = project_access(request, project_id)
    channel = _channel(access, channel_id)
    if request.method == "POST":
        access.require(Permission.CHANGE_CHANNELS)
        channel_delete(channel=channel)
        messages.success(request, f"Channel “{channel.name}” deleted.")
        return redirect("project-channels", project_id=access.project.id)
    context = {"channel": channel, "target": masked_target(channel), "monitors": channel.monitors.count()}
    return render(request, "monitors/channel_delete.html", context)


@signed_in
@require_POST
def channel_test_view(request: HtmxHttpRequest, project_id: int, channel_id: int) -> HttpResponse:
    """Send a test notification now; htmx shows the outcome in the channel's row."""
    access = project_access(request, project_id)
    channel = _channel(access, channel_id)
    access.require(Permission.CHANGE_CHANNELS)
    result = channel_send_test(channel)
    # A sender's error may begin with the status code the outcome already shows.
    error = (result.error or "").removeprefix(f"HTTP {result.status_code}: ")
    if request.htmx:
        context = {"channel": channel, "result": result, "error_detail": error}
        return render(request, f"{TEMPLATE}#test-result", context)
    code = f" (HTTP {result.status_code})" if result.status_code is not None else ""
    if result.delivered:
        messages.success(request, f"Test sent to “{channel.name}”: delivered{code}.")
    else:
        messages.error(request, f"Test to “{channel.name}” failed{code}: {error}")
    return redirect("project-channels", project_id=access.project.id)


@signed_in
@require_POST
def channel_rotate_secret_view(request: HttpRequest, project_id: int, channel_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    channel = _channel(access, channel_id)
    access.require(Permission.CHANGE_CHANNELS)
    if channel.kind != ChannelKind.WEBHOOK:
        raise Http404("Only webhook channels have a signing secret.")
    secret = channel_rotate_secret(channel=channel)
    show_once(request, what="webhook-secret", object_id=channel.id, value=secret)
    messages.success(request, f"New signing secret for “{channel.name}”: the old one no longer signs.")
    return redirect("project-channels", project_id=access.project.id)
