"""Retention of deliveries (alerts.retention): settled notifications older than
DELIVERY_RETENTION_DAYS go with their attempts, in batches; younger ones and any still owed stay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from alerts.models import DeliveryAttempt, Incident, Notification
from alerts.retention import deliveries_prune
from alerts.tasks import prune_deliveries
from monitors.models import Project
from tests.alerts.delivery.outbox_rows import problem, recovered, webhook_channel
from tests.clock import Clock

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


def test_old_settled_deliveries_go_with_their_attempts_and_the_rest_stays(
    project: Project, clock: Clock, settings: Any
) -> None:
    settings.DELIVERY_RETENTION_DAYS = 30
    channel = webhook_channel(project, "https://hooks.example.com/vigil")
    made: list[Notification] = []
    for day in range(60):  # a problem and its recovery every day for two months
        opened = clock.at(day * DAY)
        notification = problem(channel, at=opened)
        made.append(notification)
        made.append(recovered(channel, notification.incident, at=opened + timedelta(hours=1)))
    for index, notification in enumerate(made):
        notification.status = "failed" if index % 7 == 0 else "delivered"
        notification.save()
        for attempt in range(3):
            DeliveryAttempt.objects.create(
                notification=notification, at=notification.created_at, status_code=500 + attempt
            )
    # One from the first day still owed (it would never be, past the retry window; but if it is, it stays).
    owed = made[1]
    owed.status = "retrying"
    owed.save()
    # A digest member pointing at a row that goes keeps existing.
    digested = made[-1]
    digested.digest = made[2]
    digested.save()

    clock.at(60 * DAY)
    # Small batches: several transactions.
    assert deliveries_prune(batch_size=7) == 2 * 30 - 1
    cutoff = clock.now - timedelta(days=30)
    left = Notification.objects.all()
    assert left.count() == 2 * 30 + 1
    assert not left.filter(created_at__lt=cutoff).exclude(id=owed.id).exists()
    assert DeliveryAttempt.objects.count() == 3 * left.count()
    assert not DeliveryAttempt.objects.exclude(notification__in=left).exists()
    digested.refresh_from_db()
    assert digested.digest_id is None
    # Incidents are history of their own: all of them stay.
    assert Incident.objects.count() == 60

    # The beat task: nothing more to do.
    assert prune_deliveries() == 0
