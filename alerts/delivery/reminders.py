""" "Still down" reminders: every `reminder_hours` while an incident stays open and unacknowledged."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from alerts.models import Incident, Notification, NotificationEvent
from alerts.payloads import event_payload


def reminders_schedule(*, now: datetime | None = None) -> None:
    """Write the n-th reminder row once n periods have passed since the incident opened.

    Idempotent: the (incident, channel, event, sequence) constraint turns a repeat into a
    no-op, so beat may run this as often as it likes.
    """
    now = now or timezone.now()
    incidents = (
        Incident.objects.filter(resolved_at__isnull=True, acknowledged_at__isnull=True, monitor__paused=False)
        .select_related("monitor__project", "run")
        .prefetch_related("monitor__channels")
    )
    rows = []
    for incident in incidents:
        for channel in incident.monitor.channels.all():
            if not channel.reminder_hours:
                continue
            sequence = (now - incident.opened_at) // timedelta(hours=channel.reminder_hours)
            if sequence < 1:
                continue
            payload = event_payload(
                event=NotificationEvent.REMINDER,
                monitor=incident.monitor,
                incident=incident,
                run=incident.run,
                occurred_at=now,
                problem=(incident.kind, incident.detail),
            )
            rows.append(
                Notification(
                    incident=incident,
                    channel=channel,
                    event=NotificationEvent.REMINDER,
                    sequence=sequence,
                    payload=payload,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
