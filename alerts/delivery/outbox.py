"""Delivering one outbox row: claim it, send it, record the attempt, set the next state.

No locks are held while sending. A worker wins a row by a conditional UPDATE whose row
count says whether it won; the claim expires after NOTIFICATION_CLAIM_SECONDS, so a row
whose worker died mid-send is sent again (at least once; receivers deduplicate on the
row's message_id). `attempt_count` is the fence: the dispatcher enqueues a row with its
current count, and claiming bumps it, so a stale duplicate task from the queue can never
claim the row again.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.delivery.backoff import next_state
from alerts.delivery.senders import Message, Outcome, sender_for
from alerts.models import DeliveryAttempt, DeliveryStatus, Notification

logger = logging.getLogger(__name__)

OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


def claim_is_free(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def sent_on_its_own() -> Q:
    """Rows not folded into someone else's digest (a digest's first row carries it)."""
    return Q(digest__isnull=True) | Q(digest=F("id"))


def notification_deliver(*, notification_id: int, attempt_count: int) -> bool:
    """Send one due row (or the digest it leads) if this worker wins it; True when it won."""
    now = timezone.now()
    won = (
        Notification.objects.filter(claim_is_free(now) & sent_on_its_own())
        .filter(id=notification_id, attempt_count=attempt_count, status__in=OPEN_STATUSES)
        .update(
            claimed_until=now + timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS),
            attempt_count=F("attempt_count") + 1,
        )
    )
    if not won:
        return False
    notification = Notification.objects.select_related("channel").filter(id=notification_id).first()
    if notification is None:  # its channel or incident was deleted meanwhile
        return False
    members = _members(notification)
    message = Message(
        message_id=notification.message_id,
        events=[member.payload for member in members],
        is_digest=notification.digest_id == notification.id,
    )
    started = time.monotonic()
    try:
        outcome = sender_for(notification.channel.kind).send(notification.channel, message)
    except Exception as error:
        # A bug must not leave the row claimed and retried forever without a trace.
        logger.exception("sending notification %s failed", notification_id)
        outcome = Outcome.transient(f"internal error: {error!r}")
    latency_ms = round((time.monotonic() - started) * 1000)
    _finish(notification, members, outcome, at=now, latency_ms=latency_ms)
    return True


def _members(notification: Notification) -> list[Notification]:
    if notification.digest_id != notification.id:
        return [notification]
    return list(
        Notification.objects.filter(digest_id=notification.id, status__in=OPEN_STATUSES).order_by(
            "created_at", "id"
        )
    )


def _finish(
    notification: Notification,
    members: list[Notification],
    outcome: Outcome,
    *,
    at: datetime,
    latency_ms: int,
) -> None:
    status, next_attempt_at = next_state(
        outcome, attempts=notification.attempt_count, first_at=notification.created_at, now=timezone.now()
    )
    with transaction.atomic():
        # Every row of a digest keeps its own record of the attempt that carried it.
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                notification=member,
                at=at,
                status_code=outcome.status_code,
                error=outcome.error,
                latency_ms=latency_ms,
            )
            for member in members
        )
        # Only while our claim stands: if it expired and another worker claimed the row,
        # that worker's attempt decides the state.
        won = Notification.objects.filter(
            id=notification.id, attempt_count=notification.attempt_count, status__in=OPEN_STATUSES
        ).update(status=status, next_attempt_at=next_attempt_at, claimed_until=None)
        # A digest's other rows; none for a row sent on its own (most rows), which then
        # skips building an UPDATE that would match nothing.
        others = [member.id for member in members if member.id != notification.id]
        if won and others:
            Notification.objects.filter(id__in=others).update(
                status=status, next_attempt_at=next_attempt_at, attempt_count=F("attempt_count") + 1
            )
