"""Writes to a project's members: invite by e-mail, accept, change a role, remove, leave, transfer
ownership. Each asks `monitors.permissions` and leaves an audit entry.

Rules kept here, once: admins manage members but not owners (making, unmaking or removing an
owner needs an owner); anyone may leave; a project always keeps at least one owner (checked
with the project row locked, so two owners leaving at once cannot both succeed). An invitation
is used once, within INVITATION_DAYS; only the SHA-256 of its token is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from monitors.accounts import email_taken
from monitors.actors import Actor, current_actor
from monitors.audit import audit_record
from monitors.models import Invitation, Membership, Project
from monitors.permissions import Permission, require
from monitors.roles import Role

INVITATION_DAYS = 7
LAST_OWNER = "A project keeps at least one owner: make someone else an owner first."


class MembershipError(ValueError):
    """A change to members that the rules refuse; `field` names the input at fault."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    url: str
    # None when the e-mail went out; otherwise why not (the inviter can pass the link on).
    mail_error: str | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    return f"{settings.SITE_URL}/invitations/{token}/"


def _locked_project(project: Project) -> Project:
    return Project.objects.select_for_update().get(id=project.id)


def _owners(project: Project) -> int:
    return Membership.objects.filter(project=project, role=Role.OWNER).count()


def _member_audit(
    project: Project,
    action: str,
    user: User,
    before: str | None,
    after: str | None,
    actor: Actor | None = None,
) -> None:
    audit_record(
        project=project,
        action=action,
        object_type="member",
        object_id=user.id,
        object_name=user.email or user.username,
        changes={"role": [before, after]},
        actor=actor,
    )


def member_invite(*, project: Project, email: str, role: str, now: datetime | None = None) -> SentInvitation:
    """Store an invitation and e-mail its link; owners may invite owners, admins anyone else."""
    actor = require(Permission.MANAGE_MEMBERS, project)
    if role not in Role.values:
        raise MembershipError(f"Not a role: {role!r}.", "role")
    if role == Role.OWNER:
        require(Permission.MANAGE_OWNERS, project)
    email = email.strip()
    try:
        validate_email(email)
    except Exception:
        raise MembershipError("Enter a valid e-mail address.", "email") from None
    if Membership.objects.filter(project=project, user__email__iexact=email).exists():
        raise MembershipError("Someone with this e-mail is already a member.", "email")
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            project=project,
            email=email,
            role=role,
            token_hash=_digest(token),
            invited_by=actor.user,
            created_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        audit_record(
            project=project,
            action="member.invite",
            obj=invitation,
            object_name=email,
            changes={"email": [None, email], "role": [None, role]},
        )
    url = invitation_url(token)
    return SentInvitation(invitation=invitation, url=url, mail_error=_send(invitation, url, actor))


def _send(invitation: Invitation, url: str, actor: Actor) -> str | None:
    """E-mail the link (after the invitation is committed); the error text if it could not go."""
    context = {
        "project": invitation.project,
        "role": invitation.role,
        "url": url,
        "inviter": actor.user.email if actor.user else "",
        "days": INVITATION_DAYS,
    }
    try:
        send_mail(
            subject=f"You are invited to {invitation.project.name} on Vigil",
            message=render_to_string("accounts/invitation_email.txt", context),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except Exception as error:  # SMTP down or refusing: the invitation stands, the link can be passed on.
        return str(error) or error.__class__.__name__
    return None


def invitation_find(token: str) -> Invitation | None:
    if not token or len(token) > 100:
        return None
    return Invitation.objects.select_related("project").filter(token_hash=_digest(token)).first()


def invitation_problem(invitation: Invitation | None, now: datetime | None = None) -> str | None:
    """Why this invitation cannot be accepted, or None if it can."""
    if invitation is None:
        return "This invitation link is not valid."
    if invitation.accepted_at is not None:
        return "This invitation has already been used."
    if invitation.revoked_at is not None:
        return "This invitation was withdrawn."
    if invitation.expires_at <= (now or timezone.now()):
        return "This invitation has expired. Ask for a new one."
    return None


def invitation_accept(*, token: str, user: User, now: datetime | None = None) -> Membership:
    """`user` (signed in with the invited e-mail) joins the project; the link is then spent."""
    now = now or timezone.now()
    invitation = invitation_find(token)
    problem = invitation_problem(invitation, now)
    if problem is not None or invitation is None:
        raise MembershipError(problem or "")
    if (user.email or "").lower() != invitation.email.lower():
        raise MembershipError(
            f"This invitation is for {invitation.email}; you are signed in as {user.email or user.username}."
        )
    acting = current_actor()
    actor = Actor(via=acting.via, user=user, address=acting.address, cli_name=acting.cli_name)
    with transaction.atomic():
        # One use, even with two tabs accepting at once: only one conditional update wins.
        spent = Invitation.objects.filter(
            id=invitation.id, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).update(accepted_at=now, accepted_by=user)
        if not spent:
            raise MembershipError("This invitation has already been used.")
        membership, created = Membership.objects.get_or_create(
            project=invitation.project, user=user, defaults={"role": invitation.role}
        )
        if created:
            _member_audit(invitation.project, "member.join", user, None, membership.role, actor)
    return membership


def invitation_accept_new_account(
    *, token: str, password: str, now: datetime | None = None
) -> tuple[User, Membership]:
    """Accepting creates the account: named by the invited e-mail, with this password."""
    invitation = invitation_find(token)
    problem = invitation_problem(invitation, now)
    if problem is not None or invitation is None:
        raise MembershipError(problem or "")
    if email_taken(invitation.email):
        raise MembershipError("An account with this e-mail already exists: sign in to accept.")
    with transaction.atomic():
        user = User.objects.create_user(username=invitation.email, email=invitation.email, password=password)
        membership = invitation_accept(token=token, user=user, now=now)
    return user, membership


def invitation_revoke(*, invitation: Invitation, now: datetime | None = None) -> None:
    require(Permission.MANAGE_MEMBERS, invitation.project)
    if invitation.role == Role.OWNER:
        require(Permission.MANAGE_OWNERS, invitation.project)
    with transaction.atomic():
        withdrawn = Invitation.objects.filter(
            id=invitation.id, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now or timezone.now())
        if withdrawn:
            audit_record(
                project=invitation.project,
                action="member.invite_revoke",
                obj=invitation,
                object_name=invitation.email,
                changes={"email": [invitation.email, None], "role": [invitation.role, None]},
            )


def member_set_role(*, project: Project, user: User, role: str) -> Membership:
    """Change a member's role; owners alone make or unmake owners, and one owner always stays."""
    require(Permission.MANAGE_MEMBERS, project)
    if role not in Role.values:
        raise MembershipError(f"Not a role: {role!r}.", "role")
    with transaction.atomic():
        locked = _locked_project(project)
        membership = Membership.objects.select_for_update().get(project=locked, user=user)
        before = membership.role
        if Role.OWNER in (before, role):
            require(Permission.MANAGE_OWNERS, project)
        if before == role:
            return membership
        if before == Role.OWNER and _owners(locked) <= 1:
            raise MembershipError(LAST_OWNER, "role")
        membership.role = role
        membership.save(update_fields=["role"])
        _member_audit(project, "member.role", user, before, role)
    return membership


def member_remove(*, project: Project, user: User) -> None:
    """Take someone out of the project; removing an owner needs an owner, and never the last."""
    require(Permission.MANAGE_MEMBERS, project)
    with transaction.atomic():
        locked = _locked_project(project)
        membership = Membership.objects.select_for_update().get(project=locked, user=user)
        if membership.role == Role.OWNER:
            require(Permission.MANAGE_OWNERS, project)
            if _owners(locked) <= 1:
                raise MembershipError(LAST_OWNER)
        membership.delete()
        _member_audit(project, "member.remove", user, membership.role, None)


def member_leave(*, project: Project) -> None:
    """The acting user leaves the project (any role; the last owner must hand over first)."""
    actor = require(Permission.VIEW, project)
    if actor.user is None:
        raise MembershipError("Only a signed-in member can leave a project.")
    with transaction.atomic():
        locked = _locked_project(project)
        membership = Membership.objects.select_for_update().get(project=locked, user=actor.user)
        if membership.role == Role.OWNER and _owners(locked) <= 1:
            raise MembershipError(LAST_OWNER)
        membership.delete()
        _member_audit(project, "member.leave", actor.user, membership.role, None)


def ownership_transfer(*, project: Project, to: User) -> None:
    """`to` becomes an owner and the acting owner an admin, in one step."""
    actor = require(Permission.MANAGE_OWNERS, project)
    with transaction.atomic():
        locked = _locked_project(project)
        target = Membership.objects.select_for_update().filter(project=locked, user=to).first()
        if target is None:
            raise MembershipError("Ownership can only go to a member of the project.", "to")
        if actor.user is not None and actor.user.id == to.id:
            raise MembershipError("You already own this project.", "to")
        before = target.role
        target.role = Role.OWNER
        target.save(update_fields=["role"])
        _member_audit(project, "member.role", to, before, Role.OWNER)
        if actor.user is not None:
            mine = Membership.objects.select_for_update().get(project=locked, user=actor.user)
            mine.role = Role.ADMIN
            mine.save(update_fields=["role"])
            _member_audit(project, "member.role", actor.user, Role.OWNER, Role.ADMIN)
        audit_record(
            project=project,
            action="project.transfer",
            obj=project,
            changes={"owner": [actor.user.email if actor.user else None, to.email or to.username]},
        )
