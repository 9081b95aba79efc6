"""Real transitions for status, badges and metrics: the real ping endpoint and sweeper, controlled time."""

from __future__ import annotations

from typing import Any

from django.test import Client

from alerts.tasks import sweep
from monitors.models import Monitor, Project
from tests.factories import MonitorFactory

INTERVAL, GRACE = 60, 30
# Seconds after T0 at which a monitor created at T0 and never pinged is late, then missed.
LATE_AT, MISSED_AT = INTERVAL + 1, INTERVAL + GRACE + 1


def make_monitor(project: Project, **fields: Any) -> Monitor:
    """A monitor created at the clock's time, due every minute with 30 s of grace."""
    fields.setdefault("interval_seconds", INTERVAL)
    fields.setdefault("grace_seconds", GRACE)
    return MonitorFactory.create(project=project, **fields)


def ping(client: Client, monitor: Monitor, suffix: str = "") -> None:
    """A ping as a cron job sends it, then a sweep, as the worker runs one within a second."""
    assert client.post(f"/ping/{monitor.ping_uuid}{suffix}").status_code == 200
    run_sweeper()


def run_sweeper() -> None:
    sweep.apply().get()
