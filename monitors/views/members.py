"""A project's members: the list with roles, inviting by e-mail, changing roles, removing,
leaving, transferring ownership; and the page an invitation link opens.

Views parse and call monitors.members, which asks monitors.permissions (403 when refused) and
keeps the rules (one owner at least, owners managed by owners). A refused rule re-renders the
page with its reason and status 400.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from monitors.access import ProjectAccess, project_access, signed_in, signed_in_user
from monitors.accounts import email_taken
from monitors.member_forms import (
    ROLE_HELP,
    AcceptWithNewAccountForm,
    InviteForm,
    RoleForm,
    TransferForm,
    role_choices,
)
from monitors.members import (
    MembershipError,
    invitation_accept,
    invitation_accept_new_account,
    invitation_find,
    invitation_problem,
    invitation_revoke,
    member_invite,
    member_leave,
    member_remove,
    member_set_role,
    ownership_transfer,
)
from monitors.models import MAX_ID, Invitation, Membership
from monitors.permissions import Permission
from monitors.roles import Role
from monitors.views.accounts import MODEL_BACKEND

TEMPLATE = "monitors/members.html"


def _members(access: ProjectAccess) -> list[Membership]:
    order: dict[str, int] = {Role.OWNER: 0, Role.ADMIN: 1, Role.MEMBER: 2, Role.VIEWER: 3}
    rows = list(Membership.objects.filter(project=access.project).select_related("user"))
    return sorted(
        rows, key=lambda row: (order.get(row.role, 9), (row.user.email or row.user.username).lower())
    )


def _page(
    request: HttpRequest,
    access: ProjectAccess,
    *,
    invite_form: InviteForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    members = _members(access)
    others = [
        (row.user.id, row.user.email or row.user.username) for row in members if row.user.id != access.user.id
    ]
    context = {
        "members": members,
        "invitations": Invitation.objects.filter(
            project=access.project,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).order_by("-created_at"),
        "invite_form": invite_form or InviteForm(with_owner=access.is_owner),
        "transfer_form": TransferForm(members=others),
        "role_choices": role_choices(with_owner=access.is_owner),
        "role_help": [
            (role.label, ROLE_HELP[role]) for role in (Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER)
        ],
        "can_manage": access.can(Permission.MANAGE_MEMBERS),
        "last_owner": access.is_owner and sum(row.role == Role.OWNER for row in members) == 1,
        "error": error,
    }
    return render(request, TEMPLATE, context, status=status)


def _target(access: ProjectAccess, user_id: int) -> Membership:
    if not 0 < user_id <= MAX_ID:
        raise Http404("No such member.")
    membership = (
        Membership.objects.filter(project=access.project, user_id=user_id).select_related("user").first()
    )
    if membership is None:
        raise Http404("No such member of this project.")
    return membership


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
def project_members(request: HttpRequest, project_id: int) -> HttpResponse:
    """The members and their roles; a POST invites someone by e-mail."""
    access = project_access(request, project_id)
    if request.method != "POST":
        return _page(request, access)
    access.require(Permission.MANAGE_MEMBERS)
    form = InviteForm(request.POST, with_owner=access.is_owner)
    if form.is_valid():
        try:
            sent = member_invite(project=access.project, **form.cleaned_data)
        except MembershipError as error:
            form.add_error(error.field or None, error.message)
        else:
            email = sent.invitation.email
            if sent.mail_error:
                messages.warning(
                    request,
                    f"The invitation could not be e-mailed ({sent.mail_error}). "
                    f"Send {email} this link yourself, it is shown only now: {sent.url}",
                )
            else:
                messages.success(request, f"Invitation sent to {email}: the link works once, for 7 days.")
            return redirect("project-members", project_id=access.project.id)
    return _page(request, access, invite_form=form, status=400)


def _refused(request: HttpRequest, access: ProjectAccess, error: MembershipError) -> HttpResponse:
    return _page(request, access, error=error.message, status=400)


@signed_in
@require_POST
def member_role_view(request: HttpRequest, project_id: int, user_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    access.require(Permission.MANAGE_MEMBERS)
    target = _target(access, user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _page(request, access, error="Choose one of the roles.", status=400)
    try:
        member_set_role(project=access.project, user=target.user, role=form.cleaned_data["role"])
    except MembershipError as error:
        return _refused(request, access, error)
    messages.success(
        request, f"{target.user.email or target.user.username} is now {form.cleaned_data['role']}."
    )
    return redirect("project-members", project_id=access.project.id)


@signed_in
@require_POST
def member_remove_view(request: HttpRequest, project_id: int, user_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    access.require(Permission.MANAGE_MEMBERS)
    target = _target(access, user_id)
    try:
        member_remove(project=access.project, user=target.user)
    except MembershipError as error:
        return _refused(request, access, error)
    messages.success(request, f"{target.user.email or target.user.username} was removed from the project.")
    return redirect("project-members", project_id=access.project.id)


@signed_in
@require_POST
def member_leave_view(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    try:
        member_leave(project=access.project)
    except MembershipError as error:
        return _refused(request, access, error)
    messages.success(request, f"You left “{access.project.name}”.")
    return redirect("project-list")


@signed_in
@require_POST
def ownership_transfer_view(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    access.require(Permission.MANAGE_OWNERS)
    members = [(row.user.id, row.user.email) for row in _members(access) if row.user.id != access.user.id]
    form = TransferForm(request.POST, members=members)
    if not form.is_valid():
        return _page(request, access, error="Choose the member who becomes the owner.", status=400)
    target = _target(access, form.cleaned_data["to"])
    try:
        ownership_transfer(project=access.project, to=target.user)
    except MembershipError as error:
        return _refused(request, access, error)
    messages.success(request, f"{target.user.email} now owns the project; you are an admin.")
    return redirect("project-members", project_id=access.project.id)


@signed_in
@require_POST
def invitation_revoke_view(request: HttpRequest, project_id: int, invitation_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    access.require(Permission.MANAGE_MEMBERS)
    invitation = (
        Invitation.objects.filter(project=access.project, id=invitation_id).first()
        if 0 < invitation_id <= MAX_ID
        else None
    )
    if invitation is None:
        raise Http404("No such invitation.")
    invitation_revoke(invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} was withdrawn.")
    return redirect("project-members", project_id=access.project.id)


@require_http_methods(["GET", "HEAD", "POST"])
def invitation_view(request: HttpRequest, token: str) -> HttpResponse:
    """What an invitation link opens: join as the signed-in user, or create the account."""
    invitation = invitation_find(token)
    problem = invitation_problem(invitation)
    template = "accounts/invitation.html"
    if problem is not None or invitation is None:
        return render(request, template, {"problem": problem}, status=404 if invitation is None else 410)
    context: dict[str, object] = {
        "invitation": invitation,
        "role_help": ROLE_HELP.get(Role(invitation.role), ""),
    }
    if request.user.is_authenticated:
        user = signed_in_user(request)
        context["wrong_user"] = (user.email or "").lower() != invitation.email.lower()
        if request.method == "POST" and not context["wrong_user"]:
            try:
                invitation_accept(token=token, user=user)
            except MembershipError as error:
                return render(request, template, {"problem": error.message}, status=410)
            messages.success(request, f"Welcome to “{invitation.project.name}”.")
            return redirect("project-dashboard", project_id=invitation.project_id)
        return render(request, template, context, status=400 if request.method == "POST" else 200)
    if email_taken(invitation.email):
        context["sign_in"] = True
        return render(request, template, context)
    form = AcceptWithNewAccountForm(request.POST if request.method == "POST" else None)
    context["form"] = form
    if form.is_valid():
        try:
            user, _ = invitation_accept_new_account(token=token, password=form.cleaned_data["password1"])
        except MembershipError as error:
            return render(request, template, {"problem": error.message}, status=410)
        login(request, user, backend=MODEL_BACKEND)
        messages.success(request, f"Welcome to “{invitation.project.name}”.")
        return redirect("project-dashboard", project_id=invitation.project_id)
    return render(request, template, context, status=400 if request.method == "POST" else 200)
