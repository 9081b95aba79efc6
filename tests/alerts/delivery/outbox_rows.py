"""Building outbox rows the way the detection engine writes them, and draining the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from alerts.channels import channel_create
from alerts.delivery.dispatch import notifications_dispatch
from alerts.delivery.outbox import notification_deliver
from alerts.models import Channel, Incident, Notification, NotificationEvent
from alerts.payloads import event_payload
from monitors.models import Monitor, Project
from pings.models import Run
from tests.factories import MonitorFactory


def webhook_channel(project: Project, url: str) -> Channel:
    return channel_create(project=project, kind="webhook", name="hook", config={"url": url})


def slack_channel(project: Project, url: str, **fields: Any) -> Channel:
    return channel_create(project=project, kind="slack", name="slack", config={"url": url}, **fields)


def email_channel(project: Project, *to: str) -> Channel:
    return channel_create(
        project=project, kind="email", name="mail", config={"to": list(to or ["ops@example.com"])}
    )


def finished_run(monitor: Monitor, **fields: Any) -> Run:
    now = timezone.now()
    values: dict[str, Any] = {
        "status": "failed",
        "started_at": now - timedelta(seconds=192),
        "finished_at": now,
        "duration_ms": 192_000,
        "exit_code": 3,
        "meta": {},
        "log": "",
        **fields,
    }
    return Run.objects.create(monitor=monitor, **values)


def problem(
    channel: Channel,
    *,
    monitor: Monitor | None = None,
    kind: str = "failed",
    detail: str = "failed with exit code 3",
    run: Run | None = None,
    at: datetime | None = None,
) -> Notification:
    """An incident opened now and its `problem` row for `channel`."""
    if monitor is None:
        monitor = MonitorFactory.create(project=channel.project)
    channel.monitors.add(monitor)
    at = at or timezone.now()
    incident = Incident.objects.create(
        monitor=monitor, kind=kind, kinds=[kind], detail=detail, run=run, opened_at=at
    )
    payload = event_payload(
        event=NotificationEvent.PROBLEM,
        monitor=monitor,
        incident=incident,
        run=run,
        occurred_at=at,
        problem=(kind, detail),
    )
    return _row(incident, channel, NotificationEvent.PROBLEM, payload, at)


def also_to(channel: Channel, notification: Notification) -> Notification:
    """The same transition's row for another channel of the monitor."""
    return _row(
        notification.incident, channel, notification.event, notification.payload, notification.created_at
    )


def recovered(channel: Channel, incident: Incident, *, at: datetime, run: Run | None = None) -> Notification:
    incident.resolved_at = at
    incident.resolved_reason = "a successful run"
    incident.save()
    payload = event_payload(
        event=NotificationEvent.RECOVERED,
        monitor=incident.monitor,
        incident=incident,
        run=run,
        occurred_at=at,
        problem=None,
    )
    return _row(incident, channel, NotificationEvent.RECOVERED, payload, at)


def _row(
    incident: Incident, channel: Channel, event: str, payload: dict[str, Any], at: datetime
) -> Notification:
    return Notification.objects.create(
        incident=incident, channel=channel, event=event, payload=payload, created_at=at, next_attempt_at=at
    )


def deliver_due() -> int:
    """One dispatcher tick with every handed-out row delivered at once, as a worker would."""

    def deliver(notification_id: int, attempt_count: int) -> None:
        notification_deliver(notification_id=notification_id, attempt_count=attempt_count)

    return notifications_dispatch(enqueue=deliver)
