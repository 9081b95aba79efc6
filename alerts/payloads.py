"""The event body stored with each outbox row: CONTRACT §6's webhook JSON, rendered by every sender."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings

from alerts.models import Incident
from monitors.models import Monitor
from monitors.state import Flap, HeldNotice
from pings.models import Run

# The log tail carried in events; senders may cut it further.
EVENT_LOG_TAIL_CHARS = 4000


def monitor_url(monitor: Monitor) -> str:
    return f"{settings.SITE_URL}/monitors/{monitor.id}/"


def monitor_block(monitor: Monitor) -> dict[str, Any]:
    return {
        "id": monitor.id,
        "name": monitor.name,
        "slug": monitor.slug,
        # What to do about it, for whoever is woken up.
        "description": monitor.description,
        "runbook_url": monitor.runbook_url,
        "status": monitor.status,
        "tags": monitor.tags,
        "schedule": monitor.schedule,
        "url": monitor_url(monitor),
        "project": {"id": monitor.project_id, "name": monitor.project.name},
    }


def run_block(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    log = run.log
    return {
        "id": run.id,
        "rid": str(run.rid) if run.rid else None,
        "status": run.status,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_ms": run.duration_ms,
        "exit_code": run.exit_code,
        "meta": run.meta,
        "log": log[-EVENT_LOG_TAIL_CHARS:],
        "log_truncated": run.log_truncated or len(log) > EVENT_LOG_TAIL_CHARS,
    }


def incident_block(incident: Incident) -> dict[str, Any]:
    down_for = None
    if incident.resolved_at is not None:
        down_for = round((incident.resolved_at - incident.opened_at).total_seconds())
    return {
        "id": incident.id,
        "kind": incident.kind,
        "kinds": incident.kinds,
        "opened_at": _iso(incident.opened_at),
        "resolved_at": _iso(incident.resolved_at),
        "resolved_reason": incident.resolved_reason or None,
        "down_for_seconds": down_for,
    }


def event_payload(
    *,
    event: str,
    monitor: Monitor,
    incident: Incident,
    run: Run | None,
    occurred_at: datetime,
    problem: tuple[str, str] | None,
    repeat: dict[str, int] | None = None,
) -> dict[str, Any]:
    """`problem` is (kind, detail in words), e.g. ("failed", "failed with exit code 3").

    `repeat` marks a notify_every_failures repeat of a "problem" event while its incident stays
    open: {"number": n (1 for the first repeat), "failures_in_a_row": count}; null otherwise.
    """
    return {
        "event": event,
        "monitor": monitor_block(monitor),
        "problem": {"kind": problem[0], "detail": problem[1]} if problem else None,
        "run": run_block(run),
        "occurred_at": _iso(occurred_at),
        "incident": incident_block(incident),
        "repeat": repeat,
    }


def flap_block(flap: Flap) -> dict[str, Any]:
    """A flapping monitor: since when, how long it must stay stable (FLAP_WINDOW_SECONDS), and
    what was held back: counts, and the first and last held notification."""
    return {
        "since": _iso(flap.since),
        "stable_for_seconds": settings.FLAP_WINDOW_SECONDS,
        "problems_held": flap.problems,
        "recoveries_held": flap.recoveries,
        "first": _notice_block(flap.first),
        "last": _notice_block(flap.last),
    }


def _notice_block(notice: HeldNotice | None) -> dict[str, Any] | None:
    if notice is None:
        return None
    problem = {"kind": notice.kind, "detail": notice.detail} if notice.event == "problem" else None
    return {"event": notice.event, "at": _iso(notice.at), "problem": problem}


def test_payload(occurred_at: datetime) -> dict[str, Any]:
    return {
        "event": "test",
        "monitor": None,
        "problem": None,
        "run": None,
        "occurred_at": _iso(occurred_at),
        "incident": None,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
