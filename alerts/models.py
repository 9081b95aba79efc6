"""Channels, incidents, the notification outbox and its delivery attempts, maintenance."""

from __future__ import annotations

import base64
import secrets
import uuid

from django.db import models
from django.db.models import Q

from monitors.models import Monitor, Project
from pings.models import Run


def new_webhook_secret() -> str:
    """Standard Webhooks form: "whsec_" + standard base64 of the raw key bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


class ChannelKind(models.TextChoices):
    EMAIL = "email"
    SLACK = "slack"
    WEBHOOK = "webhook"
    APPRISE = "apprise"


class Channel(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    name = models.CharField(max_length=200)
    config = models.JSONField(default=dict)
    secret = models.CharField(max_length=80, blank=True, default="")
    # Hours between "still down" reminders while an incident is open; null: none.
    reminder_hours = models.PositiveIntegerField(null=True, blank=True)
    monitors = models.ManyToManyField(Monitor, related_name="channels", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"


class ProblemKind(models.TextChoices):
    MISSED = "missed"
    FAILED = "failed"
    TOO_LONG = "too_long"
    OVERLAP = "overlap"
    RULE = "rule"
    SLOW = "slow"


class Incident(models.Model):
    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="incidents")
    kind = models.CharField(max_length=10, choices=ProblemKind.choices)
    kinds = models.JSONField(default=list)
    detail = models.TextField(blank=True, default="")
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_reason = models.CharField(max_length=200, blank=True, default="")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # Free-form notes on how the engine decided (e.g. grace extended for our own outage).
    log = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["monitor"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_incident_per_monitor",
            )
        ]


class NotificationEvent(models.TextChoices):
    PROBLEM = "problem"
    RECOVERED = "recovered"
    REMINDER = "reminder"
    # A flapping monitor became stable: what was held back, in one notification.
    FLAPPING_SUMMARY = "flapping_summary"
    TEST = "test"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    FAILED = "failed"


class Notification(models.Model):
    """An outbox row: one per transition per channel, written with the transition."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notifications")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=20, choices=NotificationEvent.choices)
    # Distinguishes reminders of one incident; 0 for problem and recovered.
    sequence = models.IntegerField(default=0)
    # The same for every attempt, so receivers can deduplicate (webhook-id).
    message_id = models.CharField(max_length=40, default=new_message_id)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempt_count = models.IntegerField(default=0)
    digest = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "channel", "event", "sequence"], name="one_notification_per_transition"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due",
                condition=Q(status__in=["pending", "retrying"]),
            ),
            # Retention (alerts.retention) reads the oldest first.
            models.Index(fields=["created_at"], name="notification_created"),
        ]


class DeliveryAttempt(models.Model):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField()
    status_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    latency_ms = models.IntegerField(default=0)


class WorkerHeartbeat(models.Model):
    """One row per kind of worker; `beat_at` says when one of them last reported (for /healthz)."""

    name = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()


class MaintenanceWindow(models.Model):
    """No problem is alerted inside a window; one-off (starts_at..ends_at) or recurring (cron + length)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="maintenance_windows")
    name = models.CharField(max_length=200, blank=True, default="")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    cron_expression = models.CharField(max_length=200, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC")
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
