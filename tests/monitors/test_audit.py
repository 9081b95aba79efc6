"""The audit log: an entry for each kind of change, with who, by which way, from where, and each
field before → after; never a secret; pruned after AUDIT_RETENTION_DAYS."""

from __future__ import annotations

import ipaddress
import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from alerts.models import Channel
from monitors.audit import audit_prune, audit_record
from monitors.members import member_invite
from monitors.models import ApiKey, AuditEntry, AuditVia, Invitation, Monitor, Project
from monitors.roles import Role
from tests.conftest import make_client
from tests.factories import ProjectFactory, member
from tests.monitors.change_kinds import KINDS, TRIGGER_URL, Kind, World, build_world

ENTRY_COLUMNS = ("actor_email", "actor_key_name", "actor_key_prefix", "via", "address", "action", "changes")


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def entries(project: Project, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(project=project, action=action).order_by("id"))


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_every_kind_of_change_is_recorded_with_what_changed(client: Client, world: World, kind: Kind) -> None:
    """Through the API where it has the change, else through the web UI, else the service."""
    if kind.api is not None:
        response = kind.api(make_client(world.project), world)
        assert response.status_code < 300, response.content[:300]
        via = AuditVia.API
    elif kind.ui is not None:
        client.force_login(member(world.project, role=Role.OWNER, email="chief@example.com"))
        assert kind.ui(client, world).status_code == 302
        via = AuditVia.UI
    else:  # pragma: no cover - every kind has an entry point
        raise AssertionError(kind)
    (entry,) = entries(world.project, kind.action)[-1:]
    assert entry.via == via
    if via == AuditVia.API:
        assert (entry.actor_key_name, entry.actor_key_prefix) == (
            "test",
            ApiKey.objects.get(name="test").prefix,
        )
    else:
        assert entry.actor_email == "chief@example.com"
    assert entry.address == "127.0.0.1"
    assert entry.changes, entry.action
    assert all(isinstance(pair, list) and len(pair) == 2 for pair in entry.changes.values())


def test_an_edit_records_each_changed_field_before_and_after(world: World) -> None:
    api = make_client(world.project)
    api.patch(
        f"/api/v1/monitors/{world.monitor.id}/",
        {"name": "Nightly backup", "grace_seconds": 120, "tags": ["db"]},
        format="json",
    )
    (entry,) = entries(world.project, "monitor.update")
    assert entry.object_type == "monitor"
    assert entry.object_id == str(world.monitor.id)
    assert entry.object_name == "Nightly backup"
    assert entry.changes == {
        "name": ["Backup", "Nightly backup"],
        "grace_seconds": [300, 120],
        "tags": [[], ["db"]],
    }
    # Saving the same values again changes nothing, so it records nothing.
    api.patch(f"/api/v1/monitors/{world.monitor.id}/", {"name": "Nightly backup"}, format="json")
    assert len(entries(world.project, "monitor.update")) == 1


def test_role_changes_and_removals_name_the_member(client: Client, world: World) -> None:
    client.force_login(member(world.project, role=Role.ADMIN, email="admin@example.com"))
    client.post(f"/projects/{world.project.id}/members/{world.target.id}/role/", {"role": "member"})
    client.post(f"/projects/{world.project.id}/members/{world.target.id}/remove/")
    role, removal = entries(world.project, "member.role") + entries(world.project, "member.remove")
    assert (role.object_name, role.changes) == (world.target.email, {"role": ["viewer", "member"]})
    assert (removal.object_name, removal.changes) == (world.target.email, {"role": ["member", None]})
    assert role.actor_email == "admin@example.com"
    assert role.via == AuditVia.UI


def test_no_secret_is_ever_written(client: Client, world: World, settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = False
    project = world.project
    api = make_client(project)
    old_ping_key = project.ping_key
    hook_url = "https://hooks.example.com/services/T000/B000/very-secret-path"
    created = api.post(
        "/api/v1/channels/", {"kind": "webhook", "name": "Hook", "config": {"url": hook_url}}, format="json"
    ).json()
    first_secret = created["secret"]
    second_secret = api.post(f"/api/v1/channels/{created['id']}/rotate-secret/").json()["secret"]
    new_hook_url = "https://hooks.example.com/services/T000/B000/another-secret-path"
    assert (
        api.patch(
            f"/api/v1/channels/{created['id']}/", {"config": {"url": new_hook_url}}, format="json"
        ).status_code
        == 200
    )
    raw_key = api.post("/api/v1/keys/", {"name": "ci"}, format="json").json()["key"]
    new_ping_key = "a-fresh-ping-key-for-audit"
    assert api.patch("/api/v1/project/", {"ping_key": new_ping_key}, format="json").status_code == 200
    monitor = api.post(
        "/api/v1/monitors/",
        {"name": "Kept", "slug": "kept", "schedule": {"kind": "interval", "seconds": 60}},
        format="json",
    ).json()
    trigger = api.patch(
        f"/api/v1/monitors/{monitor['id']}/", {"trigger": {"kind": "url", "url": TRIGGER_URL}}, format="json"
    ).json()["trigger"]
    sent = member_invite(project=project, email="x@example.com", role=Role.MEMBER)
    api.delete(f"/api/v1/channels/{created['id']}/")

    secrets = {
        old_ping_key,
        new_ping_key,
        hook_url,
        new_hook_url,
        TRIGGER_URL,
        "very-secret-trigger-token",
        trigger["secret"],
        "very-secret-path",
        first_secret,
        second_secret,
        raw_key,
        raw_key.split("_")[-1],
        ApiKey.objects.get(name="ci").key_hash,
        str(Monitor.objects.get(id=monitor["id"]).ping_uuid),
        sent.url.rstrip("/").rsplit("/", 1)[1],
        Invitation.objects.get(email="x@example.com").token_hash,
    }
    rows = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert len(AuditEntry.objects.filter(project=project)) >= 8
    for secret in secrets:
        assert secret not in rows, secret
    # Yet a changed secret shows that it changed.
    (rotation,) = entries(project, "channel.rotate_secret")
    before, after = rotation.changes["secret"]
    assert before
    assert after
    assert before != after
    (update,) = entries(project, "channel.update")
    assert list(update.changes) == ["config"]
    ping_key_change = entries(project, "project.update")[-1].changes["ping_key"]
    assert ping_key_change[0] != ping_key_change[1]
    assert Channel.objects.count() == 1  # the world's; the hook is gone, its entries stay
    (trigger_entry,) = entries(project, "monitor.trigger")
    assert trigger_entry.changes["trigger"][0] is None
    assert trigger_entry.changes["trigger"][1]["kind"] == "url"


def test_the_address_honours_trusted_proxies_only(world: World, settings: Any) -> None:
    api = make_client(world.project)
    forwarded: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": "203.0.113.9", "REMOTE_ADDR": "10.0.0.2"}
    api.post(f"/api/v1/monitors/{world.monitor.id}/pause/", **forwarded)
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    api.post(f"/api/v1/monitors/{world.monitor.id}/resume/", **forwarded)
    pause, resume = entries(world.project, "monitor.pause") + entries(world.project, "monitor.resume")
    assert pause.address == "10.0.0.2"  # anyone may send X-Forwarded-For
    assert resume.address == "203.0.113.9"
    assert pause.changes["paused"] == [False, True]


def test_the_command_line_is_recorded_as_cli(db: None) -> None:
    call_command(
        "vigil_bootstrap", "--email", "ops@example.com", "--password", "a long passphrase", stdout=None
    )
    project = Project.objects.get(membership__user__email="ops@example.com")
    created, key = entries(project, "project.create") + entries(project, "key.create")
    assert key.via == AuditVia.CLI
    assert key.changes["name"] == [None, "bootstrap"]
    assert created.actor_email == "ops@example.com"


def test_entries_older_than_the_retention_are_pruned(world: World, settings: Any) -> None:
    settings.AUDIT_RETENTION_DAYS = 30
    now = timezone.now()
    old = audit_record(
        project=world.project, action="monitor.pause", obj=world.monitor, at=now - timedelta(days=31)
    )
    recent = audit_record(
        project=world.project, action="monitor.resume", obj=world.monitor, at=now - timedelta(days=29)
    )
    assert audit_prune() == 1
    assert list(AuditEntry.objects.values_list("id", flat=True)) == [recent.id]
    with time_machine.travel(now + timedelta(days=2)):
        assert audit_prune() == 1
    assert not AuditEntry.objects.filter(id__in=[old.id, recent.id]).exists()


# ---- the page


@pytest.fixture
def admin_client(client: Client, world: World) -> Client:
    client.force_login(member(world.project, role=Role.ADMIN, email="admin@example.com"))
    return client


def test_the_page_lists_and_filters_by_who_what_and_when(admin_client: Client, world: World) -> None:
    project = world.project
    make_client(project).patch(f"/api/v1/monitors/{world.monitor.id}/", {"name": "Via API"}, format="json")
    admin_client.post(f"/projects/{project.id}/settings/", {"name": "Renamed shop"})
    with time_machine.travel(timezone.now() - timedelta(days=10)):
        admin_client.post(f"/monitors/{world.monitor.id}/pause/")
    url = f"/projects/{project.id}/audit/"

    page = admin_client.get(url).content.decode()
    assert page.index("project.update") < page.index("monitor.update") < page.index("monitor.pause")
    assert "Renamed shop" in page
    assert "API key “test”" in page
    assert "admin@example.com" in page

    by_admin = admin_client.get(url, {"who": "admin@example.com"}).content.decode()
    assert "project.update" in by_admin
    assert "monitor.update" not in by_admin
    monitors_only = admin_client.get(url, {"action": "monitor"}).content.decode()
    assert "monitor.update" in monitors_only
    assert "project.update" not in monitors_only
    today = timezone.now().date().isoformat()
    recent = admin_client.get(url, {"since": today}).content.decode()
    assert "monitor.pause" not in recent
    assert "monitor.update" in recent
    earlier = (timezone.now() - timedelta(days=5)).date().isoformat()
    older = admin_client.get(url, {"until": earlier}).content.decode()
    assert "monitor.pause" in older
    assert "monitor.update" not in older

    bad = admin_client.get(url, {"since": "last tuesday"})
    assert bad.status_code == 400
    assert "since: Give a date" in bad.content.decode()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
def test_members_below_admin_cannot_read_the_log(client: Client, world: World, role: Role) -> None:
    client.force_login(member(world.project, role=role))
    assert client.get(f"/projects/{world.project.id}/audit/").status_code == 403
    assert client.get(f"/projects/{ProjectFactory.create().id}/audit/").status_code == 404


def test_run_now_from_the_vigil_client_is_recorded_as_cli(world: World) -> None:
    api = make_client(world.project)
    response = api.post(f"/api/v1/monitors/{world.monitor.id}/run/", HTTP_USER_AGENT="vigil-client/1.0")
    assert response.status_code == 201
    (entry,) = entries(world.project, "monitor.run")
    assert entry.via == AuditVia.CLI
    assert entry.actor_key_name == "test"
    assert entry.changes["run_request"][1]["rid"] == response.json()["rid"]
