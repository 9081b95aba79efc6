"""Inviting by e-mail, end to end through a real SMTP server: the link creates an account or
joins an existing one, once, within 7 days."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from monitors.models import AuditEntry, Invitation, Membership, Project
from monitors.roles import Role
from tests.alerts.loopback import SmtpSink
from tests.factories import PASSWORD, member

LINK = re.compile(r"https?://[^\s]+/invitations/([A-Za-z0-9_-]+)/")


@pytest.fixture
def owner_client(client: Client, project: Project) -> Client:
    client.force_login(member(project, role=Role.OWNER, email="owner@example.com"))
    return client


def invite(client: Client, project: Project, sink: SmtpSink, email: str, role: str = "member") -> str:
    """Invite through the members page; the link, as read from the e-mail that arrived."""
    before = len(sink.messages)
    response = client.post(f"/projects/{project.id}/members/", {"email": email, "role": role})
    assert response.status_code == 302, response.content[:500]
    assert len(sink.messages) == before + 1
    message = sink.messages[-1]
    assert message["To"] == email
    assert project.name in message["Subject"]
    body = message.get_content()
    found = LINK.search(body)
    assert found is not None, body
    return found.group(0).split("/invitations/", 1)[1].rstrip("/")


def test_a_new_person_accepts_and_gets_an_account(
    owner_client: Client, project: Project, smtp_sink: SmtpSink
) -> None:
    token = invite(owner_client, project, smtp_sink, "newcomer@example.com", "admin")
    # Only a hash is stored: the token itself is nowhere in the database row.
    invitation = Invitation.objects.get(email="newcomer@example.com")
    assert token not in str(list(Invitation.objects.values_list()))
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)

    guest = Client()
    page = guest.get(f"/invitations/{token}/")
    assert page.status_code == 200
    assert "Create account and join" in page.content.decode()
    mismatch = guest.post(
        f"/invitations/{token}/", {"password1": "a long passphrase", "password2": "other one"}
    )
    assert mismatch.status_code == 400
    assert not User.objects.filter(email="newcomer@example.com").exists()

    response = guest.post(
        f"/invitations/{token}/", {"password1": "a long passphrase", "password2": "a long passphrase"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.id}/"
    user = User.objects.get(email="newcomer@example.com")
    assert Membership.objects.get(project=project, user=user).role == Role.ADMIN
    assert guest.get(f"/projects/{project.id}/").status_code == 200  # signed in
    assert AuditEntry.objects.filter(
        project=project, action="member.join", actor_email="newcomer@example.com"
    ).exists()

    reused = Client().post(f"/invitations/{token}/", {"password1": "x" * 12, "password2": "x" * 12})
    assert reused.status_code == 410
    assert "already been used" in reused.content.decode()
    assert User.objects.filter(email="newcomer@example.com").count() == 1


def test_an_existing_user_signs_in_and_joins(
    owner_client: Client, project: Project, smtp_sink: SmtpSink
) -> None:
    existing = member(Project.objects.create(name="Their own"), email="known@example.com")
    token = invite(owner_client, project, smtp_sink, "known@example.com", "viewer")
    guest = Client()
    page = guest.get(f"/invitations/{token}/").content.decode()
    assert "Sign in to accept" in page
    assert (
        guest.post("/accounts/login/", {"username": "known@example.com", "password": PASSWORD}).status_code
        == 302
    )
    assert "Join the project" in guest.get(f"/invitations/{token}/").content.decode()
    assert guest.post(f"/invitations/{token}/").status_code == 302
    assert Membership.objects.get(project=project, user=existing).role == Role.VIEWER
    assert guest.post(f"/invitations/{token}/").status_code == 410


def test_someone_else_signed_in_cannot_use_the_link(
    owner_client: Client, project: Project, smtp_sink: SmtpSink
) -> None:
    token = invite(owner_client, project, smtp_sink, "meant@example.com")
    intruder = Client()
    intruder.force_login(member(Project.objects.create(name="Other"), email="intruder@example.com"))
    response = intruder.post(f"/invitations/{token}/")
    assert response.status_code == 400
    assert "This invitation is for meant@example.com" in response.content.decode()
    assert not Membership.objects.filter(project=project, user__email="intruder@example.com").exists()
    assert Invitation.objects.get(email="meant@example.com").accepted_at is None


def test_an_expired_link_is_refused(owner_client: Client, project: Project, smtp_sink: SmtpSink) -> None:
    token = invite(owner_client, project, smtp_sink, "late@example.com")
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        guest = Client()
        page = guest.get(f"/invitations/{token}/")
        assert page.status_code == 410
        assert "expired" in page.content.decode()
        response = guest.post(f"/invitations/{token}/", {"password1": "x" * 12, "password2": "x" * 12})
        assert response.status_code == 410
    assert not User.objects.filter(email="late@example.com").exists()


def test_a_link_still_works_on_its_last_day(
    owner_client: Client, project: Project, smtp_sink: SmtpSink
) -> None:
    token = invite(owner_client, project, smtp_sink, "almost@example.com")
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        assert Client().get(f"/invitations/{token}/").status_code == 200


def test_a_withdrawn_or_made_up_link_is_refused(
    owner_client: Client, project: Project, smtp_sink: SmtpSink
) -> None:
    token = invite(owner_client, project, smtp_sink, "maybe@example.com")
    invitation = Invitation.objects.get(email="maybe@example.com")
    assert owner_client.post(f"/projects/{project.id}/invitations/{invitation.id}/revoke/").status_code == 302
    assert Client().get(f"/invitations/{token}/").status_code == 410
    assert Client().get("/invitations/not-a-real-token/").status_code == 404


def test_when_mail_cannot_go_the_inviter_gets_the_link(
    owner_client: Client, project: Project, smtp_sink: SmtpSink
) -> None:
    smtp_sink.refuse.add("bounce@example.com")
    response = owner_client.post(
        f"/projects/{project.id}/members/", {"email": "bounce@example.com", "role": "member"}, follow=True
    )
    page = response.content.decode()
    assert "could not be e-mailed" in page
    found = LINK.search(page)
    assert found is not None
    assert Client().get(f"/invitations/{found.group(1)}/").status_code == 200
    assert Invitation.objects.filter(email="bounce@example.com").exists()


def test_inviting_a_member_again_is_a_form_error(owner_client: Client, project: Project) -> None:
    member(project, email="already@example.com")
    response = owner_client.post(
        f"/projects/{project.id}/members/", {"email": "already@example.com", "role": "member"}
    )
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    assert not Invitation.objects.exists()
