"""Each role × each kind of change, through the services (as a signed-in user), the web UI and
the REST API (as read-only and read-write keys): allowed, or refused with 403 and nothing changed."""

from __future__ import annotations

import pytest
from django.test import Client

from monitors.actors import Actor, acting_as
from monitors.api_keys import api_key_create
from monitors.models import AuditVia, Monitor
from monitors.permissions import Refused
from monitors.roles import Role
from monitors.services import monitor_delete, monitor_pause
from tests.conftest import make_client
from tests.factories import ProjectFactory, member
from tests.monitors.change_kinds import KINDS, RANK, Kind, World, build_world

ROLES = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def _allowed(role: Role, kind: Kind) -> bool:
    return RANK[role] >= RANK[kind.needs]


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
@pytest.mark.parametrize("role", ROLES)
def test_services_follow_the_role(world: World, role: Role, kind: Kind) -> None:
    actor = Actor(via=AuditVia.UI, user=member(world.project, role=role))
    with acting_as(actor):
        if _allowed(role, kind):
            kind.service(world)
            assert kind.changed(world)
        else:
            with pytest.raises(Refused):
                kind.service(world)
            assert not kind.changed(world)


UI_KINDS = [kind for kind in KINDS if kind.ui is not None]


@pytest.mark.parametrize("kind", UI_KINDS, ids=lambda kind: kind.name)
@pytest.mark.parametrize("role", ROLES)
def test_the_web_ui_follows_the_role(client: Client, world: World, role: Role, kind: Kind) -> None:
    client.force_login(member(world.project, role=role))
    assert kind.ui is not None
    response = kind.ui(client, world)
    if _allowed(role, kind):
        assert response.status_code in (200, 302), response.content[:500]
        assert kind.changed(world)
    else:
        assert response.status_code == 403
        assert "you may not" in response.content.decode()
        assert not kind.changed(world)


API_KINDS = [kind for kind in KINDS if kind.api is not None]


@pytest.mark.parametrize("kind", API_KINDS, ids=lambda kind: kind.name)
@pytest.mark.parametrize("read_only", [True, False], ids=["read-only key", "read-write key"])
def test_the_api_follows_the_key(world: World, read_only: bool, kind: Kind) -> None:
    assert kind.api is not None
    response = kind.api(make_client(world.project, read_only=read_only), world)
    if read_only:
        assert response.status_code == 403
        assert not kind.changed(world)
    else:
        assert response.status_code in (200, 201, 204), response.content[:500]
        assert kind.changed(world)


def test_a_key_of_another_project_is_refused_by_the_services(world: World) -> None:
    other_key, _ = api_key_create(project=ProjectFactory.create(), name="elsewhere")
    with acting_as(Actor(via=AuditVia.API, api_key=other_key)), pytest.raises(Refused):
        monitor_pause(monitor=world.monitor)
    assert not Monitor.objects.filter(id=world.monitor.id, paused=True).exists()


def test_a_stranger_signed_in_changes_nothing(world: World) -> None:
    with acting_as(Actor(via=AuditVia.UI, user=member(ProjectFactory.create()))), pytest.raises(Refused):
        monitor_delete(monitor=world.monitor)
    assert Monitor.objects.filter(id=world.monitor.id).exists()


def test_viewers_see_no_change_controls(client: Client, world: World) -> None:
    client.force_login(member(world.project, role=Role.VIEWER))
    page = client.get(f"/monitors/{world.monitor.id}/").content.decode()
    assert "Pause" not in page
    members = client.get(f"/projects/{world.project.id}/members/").content.decode()
    assert "Send invitation" not in members
    assert "Leave project" in members


def test_the_last_owner_is_told_instead_of_offered_to_leave(client: Client, world: World) -> None:
    client.force_login(world.project.membership_set.get(role=Role.OWNER).user)
    page = client.get(f"/projects/{world.project.id}/members/").content.decode()
    assert "The last owner cannot leave" in page
    assert "Leave project" not in page
