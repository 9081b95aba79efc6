"""Delivering one outbox row: claim it, send it, record the attempt, set the next state.

No locks are held while sending. A worker wins a row by a conditional UPDATE whose row
count says whether it won; the claim expires after NOTIFICATION_CLAIM_SECONDS, so a row
whose worker died mid-send is sent again (at least once; receivers deduplicate on the
row's message_id). `attempt_count` is the fence: the dispatcher enqueues a row with its
current count, and claiming bumps it, so a stale duplicate task from the queue can never
claim the row again.

A delivery is hand-written SQL, the same on PostgreSQL and SQLite: the claim returns the
row it won (UPDATE ... RETURNING), and the attempt and the next state are two statements in
one transaction. Building the same statements with the ORM cost several milliseconds of
CPU per delivery, which capped an alert storm's deliveries per second.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, F
from django.db.models.expressions import RawSQL
from django.utils import timezone

from alerts.delivery.backoff import next_state
from alerts.delivery.senders import Message, Outcome, sender_for
from alerts.models import Channel, DeliveryStatus, Notification

logger = logging.getLogger(__name__)

OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
# As hand-written statements take them (psycopg would write an Enum by its name).
_OPEN_VALUES = tuple(status.value for status in OPEN_STATUSES)


# Rows a worker may claim now: no live claim, and not folded into another row's digest (a
# digest's first row carries it). The dispatcher reads with it and the claim writes with it;
# qualified, because the dispatcher's read joins the channel.
_CLAIMABLE = """(alerts_notification.claimed_until IS NULL OR alerts_notification.claimed_until < %s)
  AND (alerts_notification.digest_id IS NULL OR alerts_notification.digest_id = alerts_notification.id)"""


def claimable(now: datetime) -> RawSQL:
    return RawSQL(_CLAIMABLE, (_db_time(now),), output_field=BooleanField())


# The claim bumps attempt_count, the fence a stale task's count no longer matches.
_CLAIM = f"""
UPDATE alerts_notification
SET claimed_until = %s, attempt_count = attempt_count + 1
WHERE id = %s AND attempt_count = %s AND status IN (%s, %s) AND {_CLAIMABLE}
RETURNING id, incident_id, channel_id, event, sequence, message_id, payload, status,
  created_at, next_attempt_at, claimed_until, attempt_count, digest_id
"""
_CHANNEL = """
SELECT id, project_id, kind, name, config, secret, reminder_hours, created_at
FROM alerts_channel WHERE id = %s
"""
# Only while our claim stands: if it expired and another worker claimed the row, that
# worker's attempt decides the state.
_SET_STATE = """
UPDATE alerts_notification SET status = %s, next_attempt_at = %s, claimed_until = NULL
WHERE id = %s AND attempt_count = %s AND status IN (%s, %s)
"""


def notification_deliver(*, notification_id: int, attempt_count: int) -> bool:
    """Send one due row (or the digest it leads) if this worker wins it; True when it won."""
    now = timezone.now()
    claimed_until = now + timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)
    won = list(
        Notification.objects.raw(
            _CLAIM,
            [_db_time(claimed_until), notification_id, attempt_count, *_OPEN_VALUES, _db_time(now)],
        )
    )
    if not won:
        return False
    (notification,) = won
    channel = next(iter(Channel.objects.raw(_CHANNEL, [notification.channel_id])), None)
    if channel is None:  # deleted meanwhile (its rows go with it)
        return False
    members = _members(notification)
    message = Message(
        message_id=notification.message_id,
        events=[member.payload for member in members],
        is_digest=notification.digest_id == notification.id,
    )
    started = time.monotonic()
    try:
        outcome = sender_for(channel.kind).send(channel, message)
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
    # Every row of a digest keeps its own record of the attempt that carried it.
    attempts = [
        (member.id, _db_time(at), outcome.status_code, outcome.error, latency_ms) for member in members
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO alerts_deliveryattempt (notification_id, at, status_code, error, latency_ms) VALUES "
            + ", ".join(["(%s, %s, %s, %s, %s)"] * len(attempts)),
            [value for attempt in attempts for value in attempt],
        )
        cursor.execute(
            _SET_STATE,
            [
                status.value,
                _db_time(next_attempt_at),
                notification.id,
                notification.attempt_count,
                *_OPEN_VALUES,
            ],
        )
        won = cursor.rowcount
        # A digest's other rows; none for a row sent on its own (most rows).
        others = [member.id for member in members if member.id != notification.id]
        if won and others:
            Notification.objects.filter(id__in=others).update(
                status=status, next_attempt_at=next_attempt_at, attempt_count=F("attempt_count") + 1
            )


def _db_time(value: datetime | None) -> str | None:
    """A datetime as the ORM would store it, for a hand-written statement (SQLite: UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)
