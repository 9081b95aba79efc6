"""The kinds of change a project's people make, each with its service call, its web UI and API
requests where those exist, the least role it needs, and how to tell that it happened.

Shared by the role matrix and the audit tests, so both cover the same list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.channels import channel_create, channel_delete
from alerts.models import Channel, Incident, MaintenanceWindow
from alerts.services import incident_acknowledge, maintenance_window_create, maintenance_window_delete
from monitors.api_keys import api_key_create, api_key_revoke
from monitors.members import member_invite, member_remove, member_set_role, ownership_transfer
from monitors.models import ApiKey, Invitation, Membership, Monitor, Project
from monitors.projects import project_update
from monitors.roles import Role
from monitors.services import monitor_create, monitor_delete, monitor_pause, monitor_update
from tests.api.builders import make_channel, make_incident
from tests.factories import MonitorFactory, ProjectFactory, member
from tests.monitors.views.test_monitor_form import form_data
from triggers.models import RunRequest, Trigger, TriggerKind
from triggers.services import TriggerSpec, run_request_create, trigger_set

RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}
NEW_PING_KEY = "brand-new-ping-key-0001"
TRIGGER_URL = "https://93.184.216.34/run-the-job?token=very-secret-trigger-token"


@dataclass
class World:
    project: Project
    monitor: Monitor
    incident: Incident
    channel: Channel
    key: ApiKey
    window: MaintenanceWindow
    target: User  # a viewer the member changes act on


def build_world() -> World:
    project = ProjectFactory.create(name="Shop")
    member(project, role=Role.OWNER)
    monitor = MonitorFactory.create(project=project, name="Backup")
    Trigger.objects.create(monitor=monitor, kind=TriggerKind.AGENT)
    now = timezone.now()
    return World(
        project=project,
        monitor=monitor,
        incident=make_incident(monitor, kind="failed"),
        channel=make_channel(project, name="Pager"),
        key=ApiKey.objects.create(project=project, name="deploy", prefix="vgl_0000beef", key_hash="0" * 64),
        window=MaintenanceWindow.objects.create(
            project=project, starts_at=now, ends_at=now + timedelta(hours=1)
        ),
        target=member(project, role=Role.VIEWER),
    )


Do = Callable[[World], Any]
Web = Callable[[Client, World], Any]
Api = Callable[[APIClient, World], Any]
Check = Callable[[World], bool]


@dataclass(frozen=True)
class Kind:
    name: str
    action: str  # of its audit entry
    needs: Role
    service: Do
    changed: Check
    ui: Web | None = None
    api: Api | None = None


def _exists(model: Any, **lookup: Any) -> bool:
    return bool(model.objects.filter(**lookup).exists())


def _role_of(world: World) -> str:
    return Membership.objects.get(project=world.project, user=world.target).role


KINDS = [
    Kind(
        "monitor create",
        "monitor.create",
        Role.MEMBER,
        service=lambda w: monitor_create(project=w.project, slug="new-job"),
        changed=lambda w: _exists(Monitor, slug="new-job"),
        ui=lambda c, w: c.post(f"/projects/{w.project.id}/monitors/new/", form_data(slug="new-job")),
        api=lambda c, w: c.post(
            "/api/v1/monitors/",
            {"name": "New", "slug": "new-job", "schedule": {"kind": "interval", "seconds": 60}},
            format="json",
        ),
    ),
    Kind(
        "monitor edit",
        "monitor.update",
        Role.MEMBER,
        service=lambda w: monitor_update(monitor=w.monitor, name="Renamed"),
        changed=lambda w: _exists(Monitor, id=w.monitor.id, name="Renamed"),
        ui=lambda c, w: c.post(
            f"/monitors/{w.monitor.id}/edit/", form_data(name="Renamed", slug=w.monitor.slug)
        ),
        api=lambda c, w: c.patch(f"/api/v1/monitors/{w.monitor.id}/", {"name": "Renamed"}, format="json"),
    ),
    Kind(
        "monitor pause",
        "monitor.pause",
        Role.MEMBER,
        service=lambda w: monitor_pause(monitor=w.monitor),
        changed=lambda w: _exists(Monitor, id=w.monitor.id, paused=True),
        ui=lambda c, w: c.post(f"/monitors/{w.monitor.id}/pause/"),
        api=lambda c, w: c.post(f"/api/v1/monitors/{w.monitor.id}/pause/"),
    ),
    Kind(
        "run now",
        "monitor.run",
        Role.MEMBER,
        service=lambda w: run_request_create(monitor=w.monitor, requested_by="someone"),
        changed=lambda w: _exists(RunRequest, monitor=w.monitor),
        ui=lambda c, w: c.post(f"/monitors/{w.monitor.id}/run/"),
        api=lambda c, w: c.post(f"/api/v1/monitors/{w.monitor.id}/run/"),
    ),
    Kind(
        "trigger set",
        "monitor.trigger",
        Role.MEMBER,
        service=lambda w: trigger_set(
            monitor=w.monitor, spec=TriggerSpec(kind=TriggerKind.URL, url=TRIGGER_URL)
        ),
        changed=lambda w: _exists(Trigger, monitor=w.monitor, kind=TriggerKind.URL),
        api=lambda c, w: c.patch(
            f"/api/v1/monitors/{w.monitor.id}/",
            {"trigger": {"kind": "url", "url": TRIGGER_URL}},
            format="json",
        ),
    ),
    Kind(
        "monitor delete",
        "monitor.delete",
        Role.MEMBER,
        service=lambda w: monitor_delete(monitor=w.monitor),
        changed=lambda w: not _exists(Monitor, id=w.monitor.id),
        ui=lambda c, w: c.post(f"/monitors/{w.monitor.id}/delete/"),
        api=lambda c, w: c.delete(f"/api/v1/monitors/{w.monitor.id}/"),
    ),
    Kind(
        "incident acknowledge",
        "incident.acknowledge",
        Role.MEMBER,
        service=lambda w: incident_acknowledge(incident=w.incident),
        changed=lambda w: _exists(Incident, id=w.incident.id, acknowledged_at__isnull=False),
        ui=lambda c, w: c.post(f"/monitors/{w.monitor.id}/incidents/{w.incident.id}/acknowledge/"),
        api=lambda c, w: c.post(f"/api/v1/incidents/{w.incident.id}/acknowledge/"),
    ),
    Kind(
        "channel create",
        "channel.create",
        Role.ADMIN,
        service=lambda w: channel_create(
            project=w.project, kind="email", name="Ops", config={"to": ["ops@example.com"]}
        ),
        changed=lambda w: _exists(Channel, name="Ops"),
        ui=lambda c, w: c.post(
            f"/projects/{w.project.id}/channels/add/email/", {"name": "Ops", "target": "ops@example.com"}
        ),
        api=lambda c, w: c.post(
            "/api/v1/channels/",
            {"kind": "email", "name": "Ops", "config": {"to": ["ops@example.com"]}},
            format="json",
        ),
    ),
    Kind(
        "channel delete",
        "channel.delete",
        Role.ADMIN,
        service=lambda w: channel_delete(channel=w.channel),
        changed=lambda w: not _exists(Channel, id=w.channel.id),
        ui=lambda c, w: c.post(f"/projects/{w.project.id}/channels/{w.channel.id}/delete/"),
        api=lambda c, w: c.delete(f"/api/v1/channels/{w.channel.id}/"),
    ),
    Kind(
        "API key create",
        "key.create",
        Role.ADMIN,
        service=lambda w: api_key_create(project=w.project, name="ci"),
        changed=lambda w: _exists(ApiKey, name="ci"),
        ui=lambda c, w: c.post(
            f"/projects/{w.project.id}/settings/keys/", {"name": "ci", "access": "read_write"}
        ),
        api=lambda c, w: c.post("/api/v1/keys/", {"name": "ci"}, format="json"),
    ),
    Kind(
        "API key revoke",
        "key.revoke",
        Role.ADMIN,
        service=lambda w: api_key_revoke(api_key=w.key),
        changed=lambda w: not _exists(ApiKey, id=w.key.id),
        ui=lambda c, w: c.post(f"/projects/{w.project.id}/settings/keys/{w.key.id}/revoke/"),
        api=lambda c, w: c.delete(f"/api/v1/keys/{w.key.id}/"),
    ),
    Kind(
        "maintenance create",
        "maintenance.create",
        Role.ADMIN,
        service=lambda w: maintenance_window_create(
            project=w.project, name="Upgrade", cron_expression="0 3 * * *", duration_seconds=600
        ),
        changed=lambda w: _exists(MaintenanceWindow, name="Upgrade"),
        ui=lambda c, w: c.post(
            f"/projects/{w.project.id}/settings/maintenance/",
            {
                "name": "Upgrade",
                "kind": "recurring",
                "cron_expression": "0 3 * * *",
                "timezone": "UTC",
                "duration_minutes": "10",
            },
        ),
        api=lambda c, w: c.post(
            "/api/v1/maintenance/",
            {"name": "Upgrade", "cron_expression": "0 3 * * *", "duration_seconds": 600},
            format="json",
        ),
    ),
    Kind(
        "maintenance delete",
        "maintenance.delete",
        Role.ADMIN,
        service=lambda w: maintenance_window_delete(window=w.window),
        changed=lambda w: not _exists(MaintenanceWindow, id=w.window.id),
        ui=lambda c, w: c.post(f"/projects/{w.project.id}/settings/maintenance/{w.window.id}/delete/"),
        api=lambda c, w: c.delete(f"/api/v1/maintenance/{w.window.id}/"),
    ),
    Kind(
        "project rename",
        "project.update",
        Role.ADMIN,
        service=lambda w: project_update(project=w.project, name="Renamed"),
        changed=lambda w: _exists(Project, id=w.project.id, name="Renamed"),
        ui=lambda c, w: c.post(f"/projects/{w.project.id}/settings/", {"name": "Renamed"}),
        api=lambda c, w: c.patch("/api/v1/project/", {"name": "Renamed"}, format="json"),
    ),
    Kind(
        "project ping key",
        "project.update",
        Role.ADMIN,
        service=lambda w: project_update(project=w.project, ping_key=NEW_PING_KEY),
        changed=lambda w: _exists(Project, id=w.project.id, ping_key=NEW_PING_KEY),
        ui=lambda c, w: c.post(f"/projects/{w.project.id}/settings/ping-key/", {"ping_key": NEW_PING_KEY}),
        api=lambda c, w: c.patch("/api/v1/project/", {"ping_key": NEW_PING_KEY}, format="json"),
    ),
    Kind(
        "member invite",
        "member.invite",
        Role.ADMIN,
        service=lambda w: member_invite(project=w.project, email="new@example.com", role=Role.MEMBER),
        changed=lambda w: _exists(Invitation, email="new@example.com"),
        ui=lambda c, w: c.post(
            f"/projects/{w.project.id}/members/", {"email": "new@example.com", "role": "member"}
        ),
    ),
    Kind(
        "member role",
        "member.role",
        Role.ADMIN,
        service=lambda w: member_set_role(project=w.project, user=w.target, role=Role.MEMBER),
        changed=lambda w: _role_of(w) == Role.MEMBER,
        ui=lambda c, w: c.post(f"/projects/{w.project.id}/members/{w.target.id}/role/", {"role": "member"}),
    ),
    Kind(
        "member remove",
        "member.remove",
        Role.ADMIN,
        service=lambda w: member_remove(project=w.project, user=w.target),
        changed=lambda w: not _exists(Membership, project=w.project, user=w.target),
        ui=lambda c, w: c.post(f"/projects/{w.project.id}/members/{w.target.id}/remove/"),
    ),
    Kind(
        "owner invite",
        "member.invite",
        Role.OWNER,
        service=lambda w: member_invite(project=w.project, email="boss@example.com", role=Role.OWNER),
        changed=lambda w: _exists(Invitation, email="boss@example.com"),
        ui=lambda c, w: c.post(
            f"/projects/{w.project.id}/members/", {"email": "boss@example.com", "role": "owner"}
        ),
    ),
    Kind(
        "ownership transfer",
        "project.transfer",
        Role.OWNER,
        service=lambda w: ownership_transfer(project=w.project, to=w.target),
        changed=lambda w: _role_of(w) == Role.OWNER,
        ui=lambda c, w: c.post(f"/projects/{w.project.id}/members/transfer/", {"to": w.target.id}),
    ),
]
