"""When to try a failed delivery again, and when to give up."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from alerts.delivery.senders import Outcome
from alerts.models import DeliveryStatus


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt: the n-th configured delay, then the last one forever."""
    delays: list[int] = settings.NOTIFICATION_RETRY_DELAYS
    return timedelta(seconds=delays[min(attempts, len(delays)) - 1])


def next_state(
    outcome: Outcome, *, attempts: int, first_at: datetime, now: datetime
) -> tuple[DeliveryStatus, datetime | None]:
    """(status, next_attempt_at) after an attempt; retries stop at the retry window's end."""
    if outcome.delivered:
        return DeliveryStatus.DELIVERED, None
    if not outcome.retry:
        return DeliveryStatus.FAILED, None
    retry_at = now + retry_delay(attempts)
    if retry_at > first_at + timedelta(seconds=settings.NOTIFICATION_RETRY_WINDOW_SECONDS):
        return DeliveryStatus.FAILED, None
    return DeliveryStatus.RETRYING, retry_at
