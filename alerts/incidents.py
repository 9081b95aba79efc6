"""Opening, joining and resolving incidents, each with its outbox rows in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.models import Incident, Notification, NotificationEvent
from alerts.payloads import event_payload
from monitors.models import Monitor
from pings.models import Run


@dataclass(frozen=True)
class Problem:
    kind: str
    detail: str
    at: datetime
    run: Run | None = None
    note: str = ""


def open_incident_of(monitor: Monitor) -> Incident | None:
    return Incident.objects.filter(monitor_id=monitor.id, resolved_at__isnull=True).first()


def incident_open(*, monitor: Monitor, problem: Problem, now: datetime) -> Incident:
    incident = Incident.objects.create(
        monitor=monitor,
        kind=problem.kind,
        kinds=[problem.kind],
        detail=problem.detail,
        run=problem.run,
        opened_at=now,
        log=[_entry(now, f"opened: {problem.detail}")]
        + ([_entry(now, problem.note)] if problem.note else []),
    )
    _write_outbox(
        monitor=monitor,
        incident=incident,
        event=NotificationEvent.PROBLEM,
        run=problem.run,
        now=now,
        problem=(problem.kind, problem.detail),
    )
    return incident


def incident_join(*, incident: Incident, problem: Problem, now: datetime) -> None:
    """A new problem while open joins the incident without another notification."""
    if problem.kind not in incident.kinds:
        incident.kinds = [*incident.kinds, problem.kind]
    incident.log = [*incident.log, _entry(now, f"also: {problem.detail}")]
    if problem.note:
        incident.log = [*incident.log, _entry(now, problem.note)]
    incident.save(update_fields=["kinds", "log"])


def incident_resolve(
    *, monitor: Monitor, incident: Incident, run: Run | None, reason: str, now: datetime
) -> None:
    incident.resolved_at = now
    incident.resolved_reason = reason
    incident.log = [*incident.log, _entry(now, f"resolved: {reason}")]
    incident.save(update_fields=["resolved_at", "resolved_reason", "log"])
    _write_outbox(
        monitor=monitor, incident=incident, event=NotificationEvent.RECOVERED, run=run, now=now, problem=None
    )


def _write_outbox(
    *,
    monitor: Monitor,
    incident: Incident,
    event: str,
    run: Run | None,
    now: datetime,
    problem: tuple[str, str] | None,
) -> None:
    payload = event_payload(
        event=event, monitor=monitor, incident=incident, run=run, occurred_at=now, problem=problem
    )
    rows = [
        Notification(
            incident=incident,
            channel=channel,
            event=event,
            payload=payload,
            created_at=now,
            next_attempt_at=now,
        )
        for channel in monitor.channels.all()
    ]
    # The unique (incident, channel, event, sequence) constraint makes a repeat a no-op.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)


def _entry(at: datetime, message: str) -> dict[str, str]:
    return {"at": at.isoformat(), "message": message}
