"""The delivery workers' heartbeat: /healthz and the metrics tell a dead delivery worker by it.

Written by a periodic task on the delivery queue and by every delivery, so it means "a
process consuming the delivery queue ran recently", whatever beat or the dispatcher do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.models import WorkerHeartbeat

DELIVERY_WORKER = "delivery"
# Rewritten at most this often: a durable write per delivery would buy nothing at /healthz's bounds.
HEARTBEAT_EVERY = timedelta(seconds=5)


def delivery_heartbeat_record(*, now: datetime | None = None) -> None:
    now = now or timezone.now()
    updated = WorkerHeartbeat.objects.filter(name=DELIVERY_WORKER, beat_at__lte=now - HEARTBEAT_EVERY).update(
        beat_at=now
    )
    if updated or WorkerHeartbeat.objects.filter(name=DELIVERY_WORKER).exists():
        return
    try:
        with transaction.atomic():
            WorkerHeartbeat.objects.create(name=DELIVERY_WORKER, beat_at=now)
    except IntegrityError:
        pass  # another worker wrote the first beat at the same moment
