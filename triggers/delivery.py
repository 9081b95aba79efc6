"""Delivering Run now requests to URL triggers: the notifications outbox's pattern, reused.

Beat hands due `pending` requests of URL triggers to workers (`run_requests_dispatch`); a worker
wins one by a conditional UPDATE fenced by `attempt_count` (`run_request_deliver`), POSTs it
signed per Standard Webhooks with the trigger's own secret through the guarded HTTP client,
records the attempt, and moves it on: `sent` when delivered, `pending` again with a backoff
delay (alerts.delivery.backoff), or `undeliverable` when retries are over or the answer is final.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.delivery.backoff import next_state
from alerts.delivery.senders.base import Outcome, post_outcome
from alerts.delivery.signing import signature
from alerts.models import DeliveryStatus
from alerts.payloads import monitor_block
from triggers.models import RunRequest, RunRequestStatus, TriggerAttempt, TriggerKind

logger = logging.getLogger(__name__)

Enqueue = Callable[[int, int], None]


def _claim_is_free(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def run_requests_dispatch(*, enqueue: Enqueue, now: datetime | None = None) -> int:
    """Hand every due URL request (at most a batch) to `enqueue(id, attempt_count)`."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            RunRequest.objects.select_for_update(skip_locked=True)
            .filter(_claim_is_free(now))
            .filter(kind=TriggerKind.URL, status=RunRequestStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", "attempt_count")[: settings.NOTIFICATION_DISPATCH_BATCH]
        )
        # A lost task or a dead worker: the row comes due again one claim period later.
        RunRequest.objects.filter(id__in=[row_id for row_id, _ in due]).update(
            next_attempt_at=now + timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)
        )
    for row_id, attempt_count in due:
        enqueue(row_id, attempt_count)
    return len(due)


def run_request_payload(request: RunRequest) -> dict[str, Any]:
    return {
        "monitor": monitor_block(request.monitor),
        "rid": str(request.rid),
        "requested_by": request.requested_by,
        "requested_at": request.requested_at.isoformat().replace("+00:00", "Z"),
    }


def run_request_deliver(*, request_id: int, attempt_count: int) -> bool:
    """POST one due request if this worker wins it; True when it won."""
    now = timezone.now()
    won = (
        RunRequest.objects.filter(_claim_is_free(now))
        .filter(id=request_id, attempt_count=attempt_count, status=RunRequestStatus.PENDING)
        .update(
            claimed_until=now + timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS),
            attempt_count=F("attempt_count") + 1,
        )
    )
    if not won:
        return False
    request = (
        RunRequest.objects.select_related("monitor__project", "monitor__trigger")
        .filter(id=request_id)
        .first()
    )
    if request is None:
        return False
    started = time.monotonic()
    try:
        outcome = _post(request)
    except Exception as error:
        logger.exception("delivering run request %s failed", request_id)
        outcome = Outcome.transient(f"internal error: {error!r}")
    latency_ms = round((time.monotonic() - started) * 1000)
    _finish(request, outcome, at=now, latency_ms=latency_ms)
    return True


def _post(request: RunRequest) -> Outcome:
    trigger = getattr(request.monitor, "trigger", None)
    if trigger is None or trigger.kind != TriggerKind.URL:
        return Outcome.permanent("the monitor no longer has a trigger URL")
    body = json.dumps(run_request_payload(request), separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": request.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(
            secret=trigger.secret, message_id=request.message_id, timestamp=timestamp, body=body
        ),
    }
    return post_outcome(trigger.url, body=body, headers=headers)


def _finish(request: RunRequest, outcome: Outcome, *, at: datetime, latency_ms: int) -> None:
    now = timezone.now()
    delivery, retry_at = next_state(
        outcome, attempts=request.attempt_count, first_at=request.requested_at, now=now
    )
    changes: dict[str, Any] = {"claimed_until": None, "next_attempt_at": retry_at}
    if delivery == DeliveryStatus.DELIVERED:
        changes.update(status=RunRequestStatus.SENT, sent_at=now)
    elif delivery == DeliveryStatus.FAILED:
        changes.update(status=RunRequestStatus.UNDELIVERABLE, ended_at=now, reason=outcome.error[:500])
    else:
        changes.update(reason=f"retrying: {outcome.error}"[:500])
    with transaction.atomic():
        TriggerAttempt.objects.create(
            request=request,
            at=at,
            status_code=outcome.status_code,
            error=outcome.error,
            latency_ms=latency_ms,
        )
        # Only while our claim stands and nothing else moved it (expired meanwhile).
        RunRequest.objects.filter(
            id=request.id, attempt_count=request.attempt_count, status=RunRequestStatus.PENDING
        ).update(**changes)
