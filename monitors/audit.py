"""The audit log: `audit_record` writes one entry per change, from the services that make it.

Services snapshot an object before and after (plain dicts of what a person would call its
settings) and pass `changes(before, after)`; a secret's value never reaches an entry: a
service puts `masked(value)` in its snapshot, which shows that a secret was set or replaced
but not what it is. Entries are pruned after `AUDIT_RETENTION_DAYS` (`audit_prune`, beat).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from monitors.actors import Actor, current_actor
from monitors.models import AuditEntry, Project

Changes = dict[str, list[Any]]


def masked(value: object) -> str | None:
    """A secret as the audit log shows it: whether it is set, and a short fingerprint that tells
    two values apart without revealing either (8 hex digits of a salted hash)."""
    if value in (None, ""):
        return None
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:audit:{value}".encode()).hexdigest()
    return f"secret ({digest[:8]})"


def _plain(value: Any) -> Any:
    """JSON-ready (datetimes as ISO 8601, uuids as text), as stored in the entry."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> Changes:
    """{field: [before, after]} for each field that differs; a created object has no before, a
    deleted one no after."""
    old = _plain(dict(before or {}))
    new = _plain(dict(after or {}))
    return {
        name: [old.get(name), new.get(name)]
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    }


def audit_record(
    *,
    project: Project,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: object = "",
    object_name: str = "",
    changes: Changes | None = None,
    actor: Actor | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """One entry: `action` is `<type>.<verb>` (`monitor.update`); the object is `obj` or named."""
    actor = actor or current_actor()
    if obj is not None:
        object_type = object_type or obj._meta.model_name or ""
        object_id = object_id or obj.pk
        object_name = object_name or str(obj)
    user = actor.user
    return AuditEntry.objects.create(
        project=project,
        at=at or timezone.now(),
        actor_user=user,
        actor_email=(user.email or user.username) if user is not None else "",
        actor_key_name=actor.api_key.name if actor.api_key else "",
        actor_key_prefix=actor.api_key.prefix if actor.api_key else "",
        actor_cli=actor.cli_name,
        via=actor.via,
        address=actor.address[:45],
        action=action,
        object_type=object_type,
        object_id="" if object_id in (None, "") else str(object_id),
        object_name=object_name[:254],
        changes=_plain(changes or {}),
    )


def audited_delete(
    obj: models.Model,
    *,
    project: Project,
    action: str,
    snapshot: Mapping[str, Any],
    object_type: str = "",
    object_name: str = "",
) -> None:
    """Deletes `obj` and records it (every field of `snapshot` before, nothing after), both or neither."""
    with transaction.atomic():
        audit_record(
            project=project,
            action=action,
            obj=obj,
            object_type=object_type,
            object_name=object_name,
            changes=changes(snapshot, None),
        )
        obj.delete()


def audit_prune(*, now: datetime | None = None) -> int:
    """Delete entries older than AUDIT_RETENTION_DAYS; how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEntry.objects.filter(at__lt=cutoff).delete()
    return deleted
