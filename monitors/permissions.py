"""What each role and each kind of API key may do in a project: the one place that decides it.

Every write service calls `require(permission, project)` before it changes anything, so the
web UI, the REST API and the command line refuse the same things (`Refused`: a 403 in the UI
and the API). `monitors.access` asks `allows` to decide which controls a page shows.

- viewer: looks only;
- member: also monitors, their runs and incidents;
- admin: also channels, API keys, maintenance, the project's settings, members (not owners),
  and reads the audit log;
- owner: everything, including owners and transferring ownership.
API keys act as before roles existed: read-only keys read, read-write keys change everything
the API offers (no members: the API has none). The command line may do everything.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied

from monitors.actors import Actor, current_actor
from monitors.models import AuditVia, Membership, Project
from monitors.roles import Role


class Permission(StrEnum):
    VIEW = "view"
    CHANGE_MONITORS = "change_monitors"  # monitors, runs (Run now), incidents
    CHANGE_CHANNELS = "change_channels"
    CHANGE_API_KEYS = "change_api_keys"
    CHANGE_MAINTENANCE = "change_maintenance"
    CHANGE_PROJECT = "change_project"  # name, ping key
    MANAGE_MEMBERS = "manage_members"  # invite, change roles below owner, remove
    MANAGE_OWNERS = "manage_owners"  # make or unmake owners, transfer ownership
    VIEW_AUDIT = "view_audit"


_VIEWER = frozenset({Permission.VIEW})
_MEMBER = _VIEWER | {Permission.CHANGE_MONITORS}
_ADMIN = _MEMBER | {
    Permission.CHANGE_CHANNELS,
    Permission.CHANGE_API_KEYS,
    Permission.CHANGE_MAINTENANCE,
    Permission.CHANGE_PROJECT,
    Permission.MANAGE_MEMBERS,
    Permission.VIEW_AUDIT,
}
_OWNER = _ADMIN | {Permission.MANAGE_OWNERS}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.VIEWER: _VIEWER,
    Role.MEMBER: _MEMBER,
    Role.ADMIN: _ADMIN,
    Role.OWNER: _OWNER,
}
READ_ONLY_KEY = frozenset({Permission.VIEW, Permission.VIEW_AUDIT})
READ_WRITE_KEY = _ADMIN - {Permission.MANAGE_MEMBERS}
COMMAND_LINE = frozenset(Permission)

WHAT = {
    Permission.VIEW: "see this project",
    Permission.CHANGE_MONITORS: "change monitors or incidents",
    Permission.CHANGE_CHANNELS: "change channels",
    Permission.CHANGE_API_KEYS: "create or revoke API keys",
    Permission.CHANGE_MAINTENANCE: "change maintenance windows",
    Permission.CHANGE_PROJECT: "change the project's settings",
    Permission.MANAGE_MEMBERS: "manage members",
    Permission.MANAGE_OWNERS: "manage owners",
    Permission.VIEW_AUDIT: "read the audit log",
}


class Refused(PermissionDenied):
    """The actor may not do this here: a 403 with the reason, and nothing changed."""


def refusal(permission: Permission, role: str | None) -> Refused:
    return Refused(f"As {role or 'a non-member'} of this project you may not {WHAT[permission]}.")


def role_allows(role: str | None, permission: Permission) -> bool:
    return role is not None and permission in ROLE_PERMISSIONS.get(role, frozenset())


def role_of(actor: Actor, project: Project) -> str | None:
    """The actor's role in the project (None: no member). Read from the database each time, so a
    role changed a moment ago counts at once."""
    if actor.user is None:
        return None
    return (
        Membership.objects.filter(project_id=project.id, user=actor.user)
        .values_list("role", flat=True)
        .first()
    )


def granted(actor: Actor, project: Project) -> frozenset[Permission]:
    if actor.api_key is not None:
        if actor.api_key.project_id != project.id:
            return frozenset()
        return READ_ONLY_KEY if actor.api_key.read_only else READ_WRITE_KEY
    if actor.via == AuditVia.CLI and actor.user is None:
        return COMMAND_LINE
    role = role_of(actor, project)
    return ROLE_PERMISSIONS.get(role, frozenset()) if role else frozenset()


def allows(permission: Permission, project: Project, actor: Actor | None = None) -> bool:
    return permission in granted(actor or current_actor(), project)


def require(permission: Permission, project: Project, actor: Actor | None = None) -> Actor:
    """The acting party, if it may; `Refused` otherwise (before anything is written)."""
    actor = actor or current_actor()
    if permission not in granted(actor, project):
        if actor.api_key is not None:
            raise Refused(f"This API key may not {WHAT[permission]}.")
        raise refusal(permission, role_of(actor, project))
    return actor
