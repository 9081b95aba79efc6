"""Writes to channels: create, update, delete, rotate a webhook secret, send a test notification.

The API (alerts.channel_api) and the web UI (monitors.views.channels) both call these. Each asks
`monitors.permissions.require` first and leaves an audit entry; a channel's config (a Slack or
webhook URL is itself a credential) and its signing secret are masked there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from alerts.delivery.senders import Message, sender_for
from alerts.models import Channel, ChannelKind, new_message_id, new_webhook_secret
from alerts.payloads import test_payload
from monitors.audit import audit_record, audited_delete, changes, masked
from monitors.models import Project
from monitors.permissions import Permission, require


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
    require(Permission.CHANGE_CHANNELS, project)
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
        audit_record(
            project=project,
            action="channel.create",
            obj=channel,
            changes=changes(None, channel_snapshot(channel)),
        )
    return channel


def channel_update(*, channel: Channel, monitor_ids: list[int] | None = None, **fields: Any) -> Channel:
    require(Permission.CHANGE_CHANNELS, channel.project)
    before = channel_snapshot(channel)
    for name, value in fields.items():
        setattr(channel, name, value)
    with transaction.atomic():
        channel.save()
        if monitor_ids is not None:
            channel.monitors.set(channel.project.monitors.filter(id__in=monitor_ids))
        changed = changes(before, channel_snapshot(channel))
        if changed:
            audit_record(project=channel.project, action="channel.update", obj=channel, changes=changed)
    return channel


def channel_delete(*, channel: Channel) -> None:
    """Delete a channel; its monitors stop notifying it, past deliveries go with it."""
    require(Permission.CHANGE_CHANNELS, channel.project)
    audited_delete(
        channel, project=channel.project, action="channel.delete", snapshot=channel_snapshot(channel)
    )


def channel_rotate_secret(*, channel: Channel) -> str:
    """A new signing secret; deliveries signed from now on use it."""
    require(Permission.CHANGE_CHANNELS, channel.project)
    if channel.kind != ChannelKind.WEBHOOK:
        raise NotAWebhook
    before = masked(channel.secret)
    channel.secret = new_webhook_secret()
    with transaction.atomic():
        channel.save(update_fields=["secret"])
        audit_record(
            project=channel.project,
            action="channel.rotate_secret",
            obj=channel,
            changes={"secret": [before, masked(channel.secret)]},
        )
    return channel.secret


def channel_snapshot(channel: Channel) -> dict[str, Any]:
    """A channel as the audit log shows it: e-mail recipients as they are, any URL masked."""
    config = {
        name: value if name == "to" else masked(value)
        for name, value in sorted((channel.config or {}).items())
    }
    monitors = sorted(channel.monitors.values_list("id", flat=True)) if channel.pk else []
    return {
        "kind": channel.kind,
        "name": channel.name,
        "config": config,
        "reminder_hours": channel.reminder_hours,
        "monitors": monitors,
    }


def channel_send_test(channel: Channel) -> TestResult:
    """Send a `test` event now, outside the outbox, and say how it went."""
    require(Permission.CHANGE_CHANNELS, channel.project)
    message = Message(message_id=new_message_id(), events=[test_payload(timezone.now())])
    outcome = sender_for(channel.kind).send(channel, message)
    return TestResult(
        delivered=outcome.delivered, status_code=outcome.status_code, error=outcome.error or None
    )
