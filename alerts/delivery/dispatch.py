"""Finding due outbox rows, folding alert storms into digests, and handing rows to workers.

Runs every second from beat. A handed-out row's `next_attempt_at` moves one claim
period ahead: if its task is lost in the broker, or its worker dies before claiming it,
the row comes due again and is handed out again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.delivery.outbox import OPEN_STATUSES, claimable
from alerts.delivery.senders import DIGEST_KINDS
from alerts.models import Notification, NotificationEvent

# More problems than this for one e-mail or Slack channel within the window: one digest.
STORM_THRESHOLD = 10
STORM_WINDOW = timedelta(seconds=30)

Enqueue = Callable[[int, int], None]


def notifications_dispatch(*, enqueue: Enqueue, now: datetime | None = None) -> int:
    """Hand every due row (at most a batch) to `enqueue(id, attempt_count)`; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            # skip_locked: two overlapping dispatchers hand out disjoint rows.
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(claimable(now))
            .filter(status__in=OPEN_STATUSES, next_attempt_at__lte=now)
            .select_related("channel")
            .order_by("next_attempt_at", "id")[: settings.NOTIFICATION_DISPATCH_BATCH]
        )
        deliveries = _fold_storms(due, now=now)
        Notification.objects.filter(id__in=[row.id for row in deliveries]).update(
            next_attempt_at=now + timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)
        )
    # After the commit, so a worker never looks for a row it cannot see yet.
    for row in deliveries:
        enqueue(row.id, row.attempt_count)
    return len(deliveries)


def _fold_storms(due: list[Notification], *, now: datetime) -> list[Notification]:
    """The rows to send, in order: storm members of one channel fold into a digest led by the oldest."""
    fresh_problems: dict[int, list[Notification]] = defaultdict(list)
    for row in due:
        if (
            row.event == NotificationEvent.PROBLEM
            and row.attempt_count == 0
            and row.digest_id is None
            and row.channel.kind in DIGEST_KINDS
        ):
            fresh_problems[row.channel_id].append(row)
    folded: set[int] = set()
    for channel_id, rows in fresh_problems.items():
        if len(rows) < 2 or not _in_storm(channel_id, due_now=len(rows), now=now):
            continue
        leader = min(rows, key=lambda row: (row.created_at, row.id))
        Notification.objects.filter(id__in=[row.id for row in rows]).update(digest=leader)
        leader.digest_id = leader.id
        folded.update(row.id for row in rows if row is not leader)
    return [row for row in due if row.id not in folded]


def _in_storm(channel_id: int, *, due_now: int, now: datetime) -> bool:
    recent = Notification.objects.filter(
        channel_id=channel_id, event=NotificationEvent.PROBLEM, created_at__gte=now - STORM_WINDOW
    ).count()
    return max(recent, due_now) > STORM_THRESHOLD
