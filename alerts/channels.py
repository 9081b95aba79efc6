"""Writes to channels: create, update, delete, rotate a webhook secret, send a test notification.

The API (alerts.channel_api) and the web UI (monitors.views.channels) both call these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from alerts.delivery.senders import Message, sender_for
from alerts.models import Channel, ChannelKind, new_message_id, new_webhook_secret
from alerts.payloads import test_payload
from monitors.models import Project


@dataclass(frozen=True)
class TestResult:
    delivered: bool
    status_code: int | None
    error: str | None


class NotAWebhook(Exception):
    """Only webhook channels have a signing secret."""


def channel_create(
    *,
    project: Project,
    kind: str,
    name: str,
    config: dict[str, Any],
    reminder_hours: int | None = None,
    monitor_ids: list[int] | None = None,
) -> Channel:
    """Create a channel; without `monitor_ids` every monitor of the project uses it."""
    with transaction.atomic():
        channel = Channel.objects.create(
            project=project,
            kind=kind,
            name=name,
            config=config,
            reminder_hours=reminder_hours,
            secret=new_webhook_secret() if kind == ChannelKind.WEBHOOK else "",
        )
        monitors = project.monitors.all()
        channel.monitors.set(monitors if monitor_ids is None else monitors.filter(id__in=monitor_ids))
    return channel


def channel_update(*, channel: Channel, monitor_ids: list[int] | None = None, **fields: Any) -> Channel:
    for name, value in fields.items():
        setattr(channel, name, value)
    with transaction.atomic():
        channel.save()
        if monitor_ids is not None:
            channel.monitors.set(channel.project.monitors.filter(id__in=monitor_ids))
    return channel


def channel_delete(*, channel: Channel) -> None:
    """Remove a channel; its pending notifications and their attempts go with it."""
    channel.delete()


def channel_rotate_secret(*, channel: Channel) -> str:
    """A new signing secret; deliveries signed from now on use it."""
    if channel.kind != ChannelKind.WEBHOOK:
        raise NotAWebhook
    channel.secret = new_webhook_secret()
    channel.save(update_fields=["secret"])
    return channel.secret


def channel_send_test(channel: Channel) -> TestResult:
    """Send a `test` event now, outside the outbox, and say how it went."""
    message = Message(message_id=new_message_id(), events=[test_payload(timezone.now())])
    outcome = sender_for(channel.kind).send(channel, message)
    return TestResult(
        delivered=outcome.delivered, status_code=outcome.status_code, error=outcome.error or None
    )
