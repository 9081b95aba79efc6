"""The four roles a member of a project can have (CONTRACT §8). What each may do: monitors.permissions."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"
