"""The members page's rules through the web UI: one owner always stays, owners are managed by
owners, anyone can leave, ownership moves in one step."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from monitors.models import AuditEntry, Membership, Project
from monitors.roles import Role
from tests.factories import member


def role(project: Project, user: User) -> str | None:
    return Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()


def test_the_page_lists_members_with_their_roles(signed_in: Client, project: Project, user: User) -> None:
    viewer = member(project, role=Role.VIEWER, email="viewer@example.com")
    page = signed_in.get(f"/projects/{project.id}/members/").content.decode()
    assert user.email in page
    assert "viewer@example.com" in page
    assert f'action="/projects/{project.id}/members/{viewer.id}/role/"' in page
    assert "Send invitation" in page
    assert "Transfer ownership" in page


def test_the_last_owner_can_neither_leave_nor_step_down(
    signed_in: Client, project: Project, user: User
) -> None:
    leave = signed_in.post(f"/projects/{project.id}/members/leave/")
    assert leave.status_code == 400
    assert "at least one owner" in leave.content.decode()
    demote = signed_in.post(f"/projects/{project.id}/members/{user.id}/role/", {"role": "admin"})
    assert demote.status_code == 400
    assert role(project, user) == Role.OWNER
    assert not AuditEntry.objects.filter(action__in=["member.leave", "member.role"]).exists()


def test_with_a_second_owner_an_owner_may_step_down_and_leave(
    signed_in: Client, project: Project, user: User
) -> None:
    member(project, role=Role.OWNER)
    assert (
        signed_in.post(f"/projects/{project.id}/members/{user.id}/role/", {"role": "admin"}).status_code
        == 302
    )
    assert role(project, user) == Role.ADMIN
    response = signed_in.post(f"/projects/{project.id}/members/leave/")
    assert response.status_code == 302
    assert response["Location"] == "/projects/"
    assert role(project, user) is None
    assert signed_in.get(f"/projects/{project.id}/").status_code == 404


def test_an_admin_cannot_touch_an_owner(client: Client, project: Project, user: User) -> None:
    admin = member(project, role=Role.ADMIN)
    viewer = member(project, role=Role.VIEWER)
    client.force_login(admin)
    assert client.post(f"/projects/{project.id}/members/{user.id}/remove/").status_code == 403
    assert (
        client.post(f"/projects/{project.id}/members/{user.id}/role/", {"role": "viewer"}).status_code == 403
    )
    assert (
        client.post(f"/projects/{project.id}/members/{viewer.id}/role/", {"role": "owner"}).status_code == 403
    )
    assert (
        client.post(f"/projects/{project.id}/members/{admin.id}/role/", {"role": "owner"}).status_code == 403
    )
    assert (role(project, user), role(project, viewer), role(project, admin)) == (
        Role.OWNER,
        Role.VIEWER,
        Role.ADMIN,
    )
    page = client.get(f"/projects/{project.id}/members/").content.decode()
    assert f"/members/{user.id}/remove/" not in page
    assert "Transfer ownership" not in page


def test_a_viewer_can_leave(client: Client, project: Project) -> None:
    viewer = member(project, role=Role.VIEWER)
    client.force_login(viewer)
    assert client.post(f"/projects/{project.id}/members/leave/").status_code == 302
    assert role(project, viewer) is None
    (entry,) = AuditEntry.objects.filter(action="member.leave")
    assert entry.changes == {"role": ["viewer", None]}
    assert entry.actor_email == viewer.email


def test_ownership_transfer(signed_in: Client, project: Project, user: User) -> None:
    heir = member(project, role=Role.MEMBER, email="heir@example.com")
    response = signed_in.post(f"/projects/{project.id}/members/transfer/", {"to": heir.id})
    assert response.status_code == 302
    assert role(project, heir) == Role.OWNER
    assert role(project, user) == Role.ADMIN
    (entry,) = AuditEntry.objects.filter(action="project.transfer")
    assert entry.changes == {"owner": [user.email, "heir@example.com"]}
    # Now an admin: no more transfers.
    assert signed_in.post(f"/projects/{project.id}/members/transfer/", {"to": heir.id}).status_code == 403


def test_unknown_members_are_not_found(signed_in: Client, project: Project) -> None:
    stranger = member(Project.objects.create(name="Elsewhere"))
    assert signed_in.post(f"/projects/{project.id}/members/{stranger.id}/remove/").status_code == 404
    assert (
        signed_in.post(f"/projects/{project.id}/members/999999/role/", {"role": "viewer"}).status_code == 404
    )
    assert signed_in.post(f"/projects/{project.id}/members/transfer/", {"to": stranger.id}).status_code == 400
