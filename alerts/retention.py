"""Retention of deliveries (a beat task, alerts.tasks): notifications created more than
`DELIVERY_RETENTION_DAYS` ago, with their attempts, once they are settled (delivered or
failed; one still owed is never dropped). Incidents stay.

As for pings (pings.retention): small batches by primary key, each its own short
transaction; `notification_created` finds the old rows without reading the rest.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.models import DeliveryAttempt, DeliveryStatus, Notification

# Notifications per batch: a failed one carries a few dozen attempts (retries over a day),
# so a batch stays near a thousand rows.
BATCH_SIZE = 100


def deliveries_prune(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete settled notifications older than the retention; how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.DELIVERY_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(
            Notification.objects.filter(
                created_at__lt=cutoff, status__in=(DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
            )
            .order_by("created_at")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            DeliveryAttempt.objects.filter(notification_id__in=ids).delete()
            # A digest's members point at it: the collector clears their link first.
            deleted += Notification.objects.filter(id__in=ids).delete()[1].get(Notification._meta.label, 0)
