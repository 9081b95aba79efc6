"""API keys: generated once, stored as a SHA-256 hash, checked in constant time.

Creating and revoking ask `monitors.permissions` and are audited (by name and prefix: the key
itself is never stored anywhere).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import transaction

from monitors.audit import audit_record, audited_delete, changes
from monitors.models import ApiKey, Project
from monitors.permissions import Permission, require

KEY_PREFIX = "vgl_"


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(*, project: Project, name: str, read_only: bool = False) -> tuple[ApiKey, str]:
    """Returns the stored key and the whole raw key, which is never stored or shown again."""
    require(Permission.CHANGE_API_KEYS, project)
    # The stored prefix is how the key begins ("vgl_2b1c5d16"), so people can tell keys apart.
    prefix = f"{KEY_PREFIX}{secrets.token_hex(4)}"
    raw_key = f"{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            project=project, name=name, prefix=prefix, key_hash=_digest(raw_key), read_only=read_only
        )
        audit_record(
            project=project, action="key.create", obj=api_key, changes=changes(None, _snapshot(api_key))
        )
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    """The key stops working at once."""
    require(Permission.CHANGE_API_KEYS, api_key.project)
    audited_delete(api_key, project=api_key.project, action="key.revoke", snapshot=_snapshot(api_key))


def _snapshot(api_key: ApiKey) -> dict[str, object]:
    return {"name": api_key.name, "prefix": api_key.prefix, "read_only": api_key.read_only}


def api_key_find(raw_key: str) -> ApiKey | None:
    """The key's row, or None; the hash comparison does not leak where it differs."""
    if not raw_key.startswith(KEY_PREFIX) or raw_key.count("_") < 2:
        return None
    prefix = KEY_PREFIX + raw_key[len(KEY_PREFIX) :].split("_", 1)[0]
    api_key = ApiKey.objects.select_related("project").filter(prefix=prefix).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, _digest(raw_key)):
        return None
    return api_key
