"""Whether notifications are leaving: reads for /healthz and the Prometheus metrics."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q

from alerts.delivery.heartbeat import DELIVERY_WORKER
from alerts.delivery.outbox import OPEN_STATUSES
from alerts.models import DeliveryStatus, Notification, WorkerHeartbeat
from monitors.models import Project


def delivery_age_seconds(now: datetime) -> float | None:
    """Seconds since a delivery worker last reported; None if none ever did."""
    beat_at = WorkerHeartbeat.objects.filter(name=DELIVERY_WORKER).values_list("beat_at", flat=True).first()
    return None if beat_at is None else max(0.0, round((now - beat_at).total_seconds(), 1))


def outbox_oldest_seconds(now: datetime, *, project: Project | None = None) -> float:
    """How long the longest-waiting due notification has waited; 0 when none waits.

    A row no attempt has finished for (pending) waits since it was written, even while
    handed out: the dispatcher hands a row out again and again when no worker takes it. A
    row between retries waits only once its next attempt is due, so a receiver that is down
    (and being retried on schedule) is not Vigil's own trouble. Rows held for later (a next
    attempt beyond one claim period) do not count.
    """
    handed_out_until = now + timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)
    rows = Notification.objects.filter(status__in=OPEN_STATUSES)
    if project is not None:
        rows = rows.filter(channel__project=project)
    oldest = rows.aggregate(
        first_attempt=Min(
            "created_at",
            filter=Q(
                status=DeliveryStatus.PENDING, created_at__lte=now, next_attempt_at__lte=handed_out_until
            ),
        ),
        retry=Min("next_attempt_at", filter=Q(status=DeliveryStatus.RETRYING, next_attempt_at__lte=now)),
    )
    waits = [(now - since).total_seconds() for since in oldest.values() if since is not None]
    return round(max(waits, default=0.0), 1)


def outbox_backlog(*, project: Project | None = None) -> dict[str, int]:
    """Undelivered notifications by state (pending: no attempt finished yet; retrying)."""
    rows = Notification.objects.filter(status__in=OPEN_STATUSES)
    if project is not None:
        rows = rows.filter(channel__project=project)
    counts = dict(rows.values_list("status").annotate(count=Count("id")).values_list("status", "count"))
    return {status: counts.get(status, 0) for status in OPEN_STATUSES}
