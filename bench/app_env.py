"""The app's environment for an in-process benchmark on PostgreSQL (settings read at django.setup())."""

from __future__ import annotations

import os


def use_postgres(database_url: str, **extra: str) -> None:
    """Settings from the environment: this database, no broker, quiet logs; `extra` adds more."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="monitorsite.settings",
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY="vigil-bench-not-a-secret",
        LOG_LEVEL="WARNING",
        **extra,
    )
    os.environ.pop("REDIS_URL", None)
