"""Writes to projects: create one with its owner; its own settings, name and ping key (CONTRACT §4).

The API and the web UI both call `project_update`; its rules are checked here once, behind
`monitors.permissions` and with an audit entry (the ping key masked: it lets its holder ping).
"""

from __future__ import annotations

import re
import unicodedata
import uuid

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from monitors.actors import Actor, current_actor
from monitors.audit import audit_record, changes, masked
from monitors.models import Membership, Project
from monitors.permissions import Permission, require
from monitors.roles import Role

PING_KEY_CHARS = re.compile(r"[A-Za-z0-9_-]+")
# Long enough not to be guessed (generated keys have 22 characters), short enough for the column.
PING_KEY_MIN_LENGTH = 16
PING_KEY_MAX_LENGTH = 40
NAME_MAX_LENGTH = 200
PING_KEY_IN_USE = "Another project already uses this ping key."


class ProjectError(ValueError):
    """A value a project cannot take; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def validate_ping_key(value: str) -> str:
    """A ping key is url-safe and never shaped like a uuid: /ping/<x> with a uuid means a monitor."""
    if not PING_KEY_MIN_LENGTH <= len(value) <= PING_KEY_MAX_LENGTH:
        raise ProjectError("ping_key", f"Between {PING_KEY_MIN_LENGTH} and {PING_KEY_MAX_LENGTH} characters.")
    if not PING_KEY_CHARS.fullmatch(value):
        raise ProjectError("ping_key", "Only letters, digits, '-' and '_'.")
    if _parses_as_uuid(value):
        raise ProjectError("ping_key", "Must not be shaped like a uuid (ping URLs would take it for one).")
    return value


def validate_project_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise ProjectError("name", "A name is required.")
    if len(name) > NAME_MAX_LENGTH:
        raise ProjectError("name", f"At most {NAME_MAX_LENGTH} characters.")
    # Control characters (NUL among them) cannot be stored by PostgreSQL and show as nothing.
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise ProjectError("name", "A project name cannot hold control characters.")
    return name


def default_project_name(email: str) -> str:
    return f"{email.split('@')[0]}'s project"[:NAME_MAX_LENGTH]


def project_create(*, name: str, owner: User) -> Project:
    """A new project whose one member is its owner (sign-up, `vigil_bootstrap`, the web UI)."""
    with transaction.atomic():
        project = Project.objects.create(name=validate_project_name(name))
        Membership.objects.create(project=project, user=owner, role=Role.OWNER)
        # At sign-up nobody is signed in yet: the new owner is who acts.
        acting = current_actor()
        actor = Actor(via=acting.via, user=owner, address=acting.address, cli_name=acting.cli_name)
        audit_record(
            project=project,
            action="project.create",
            obj=project,
            changes=changes(None, _snapshot(project)),
            actor=actor,
        )
    return project


def project_update(*, project: Project, name: str | None = None, ping_key: str | None = None) -> Project:
    """Rename the project and/or change its ping key; a key another project holds is refused.

    The old ping key stops working at once: slug ping URLs built with it answer 404.
    """
    require(Permission.CHANGE_PROJECT, project)
    before = _snapshot(project)
    changed: list[str] = []
    if name is not None:
        project.name = validate_project_name(name)
        changed.append("name")
    if ping_key is not None:
        project.ping_key = validate_ping_key(ping_key)
        if Project.objects.filter(ping_key=project.ping_key).exclude(id=project.id).exists():
            raise ProjectError("ping_key", PING_KEY_IN_USE)
        changed.append("ping_key")
    if not changed:
        return project
    try:
        with transaction.atomic():
            project.save(update_fields=changed)
            audit_record(
                project=project,
                action="project.update",
                obj=project,
                changes=changes(before, _snapshot(project)),
            )
    except IntegrityError:
        # Another project took the key between the check and the write.
        project.refresh_from_db()
        raise ProjectError("ping_key", PING_KEY_IN_USE) from None
    return project


def _snapshot(project: Project) -> dict[str, object]:
    return {"name": project.name, "ping_key": masked(project.ping_key)}


def _parses_as_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
