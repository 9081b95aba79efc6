"""Rows the API reads, built directly: the engine that normally writes them is tested elsewhere."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from alerts.models import Channel, DeliveryAttempt, Incident, Notification
from monitors.models import Monitor, Project
from pings.models import Ping, Run


def make_channel(project: Project, **fields: Any) -> Channel:
    fields.setdefault("kind", "webhook")
    fields.setdefault("name", "hook")
    fields.setdefault("config", {"url": "https://example.com/hook"})
    return Channel.objects.create(project=project, **fields)


def make_run(monitor: Monitor, **fields: Any) -> Run:
    fields.setdefault("status", "success")
    fields.setdefault("finished_at", timezone.now())
    return Run.objects.create(monitor=monitor, **fields)


def make_ping(monitor: Monitor, **fields: Any) -> Ping:
    fields.setdefault("kind", "success")
    fields.setdefault("method", "POST")
    fields.setdefault("received_at", timezone.now())
    return Ping.objects.create(monitor=monitor, **fields)


def make_incident(monitor: Monitor, *, opened_at: datetime | None = None, **fields: Any) -> Incident:
    kind = fields.setdefault("kind", "missed")
    fields.setdefault("kinds", [kind])
    return Incident.objects.create(monitor=monitor, opened_at=opened_at or timezone.now(), **fields)


def make_notification(incident: Incident, channel: Channel, **fields: Any) -> Notification:
    fields.setdefault("event", "problem")
    return Notification.objects.create(
        incident=incident, channel=channel, created_at=incident.opened_at, **fields
    )


def make_attempt(notification: Notification, *, after_seconds: float = 0, **fields: Any) -> DeliveryAttempt:
    at = notification.created_at + timedelta(seconds=after_seconds)
    return DeliveryAttempt.objects.create(notification=notification, at=at, **fields)
