"""Run now: a monitor's trigger (a URL Vigil POSTs to, or the `vigil agent`), and the requests
made through it with their visible life."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.db.models import Q

from monitors.models import Monitor
from pings.models import Run
from pings.signals import REQUESTED_RID_VERSION


def new_request_rid() -> uuid.UUID:
    """122 random bits with the version that tells the ping path to look for a request."""
    value = int.from_bytes(secrets.token_bytes(16), "big")
    value = (value & ~(0xF << 76)) | (REQUESTED_RID_VERSION << 76)
    # The RFC 4122 variant (10xx), without which a uuid has no version.
    value = (value & ~(0xC << 60)) | (0x8 << 60)
    return uuid.UUID(int=value)


class TriggerKind(models.TextChoices):
    URL = "url"
    AGENT = "agent"


class Trigger(models.Model):
    """At most one per monitor; no row means no trigger (Run now is refused with a reason)."""

    monitor = models.OneToOneField(Monitor, on_delete=models.CASCADE, related_name="trigger")
    kind = models.CharField(max_length=10, choices=TriggerKind.choices)
    url = models.CharField(max_length=2000, blank=True, default="")
    # Standard Webhooks signing secret of a URL trigger (whsec_…); shown once when set.
    secret = models.CharField(max_length=80, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)


class RunRequestStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    STARTED = "started"
    FINISHED = "finished"
    UNDELIVERABLE = "undeliverable"
    EXPIRED = "expired"


# A request in these may still move on; the others are where it ended.
OPEN_REQUEST_STATUSES = (RunRequestStatus.PENDING, RunRequestStatus.SENT, RunRequestStatus.STARTED)
# No start yet: what expiry looks at.
UNSTARTED_STATUSES = (RunRequestStatus.PENDING, RunRequestStatus.SENT)


class RunRequest(models.Model):
    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="run_requests")
    # The rid the requested run reports with; the ping path finds the request by it (only
    # rids of this kind: see pings.signals).
    rid = models.UUIDField(default=new_request_rid, unique=True, editable=False)
    kind = models.CharField(max_length=10, choices=TriggerKind.choices)
    status = models.CharField(
        max_length=15, choices=RunRequestStatus.choices, default=RunRequestStatus.PENDING
    )
    # Who asked: a user's e-mail or an API key's name.
    requested_by = models.CharField(max_length=254)
    requested_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When it became undeliverable or expired, and why.
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True, default="")
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # URL triggers' outbox columns, as for notifications (alerts.delivery.outbox).
    message_id = models.CharField(max_length=64, default="", blank=True)
    attempt_count = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["monitor", "-id"], name="runrequest_monitor_newest"),
            models.Index(
                fields=["next_attempt_at"],
                name="runrequest_url_due",
                condition=Q(status="pending", kind="url"),
            ),
            models.Index(
                fields=["requested_at"],
                name="runrequest_unstarted",
                condition=Q(status__in=["pending", "sent"]),
            ),
        ]


class TriggerAttempt(models.Model):
    """One POST to a URL trigger."""

    request = models.ForeignKey(RunRequest, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField()
    status_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    latency_ms = models.IntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]
