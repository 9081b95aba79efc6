"""`/healthz`: the database answers, the sweeper ran recently, and notifications leave (CONTRACT §5).

Beyond the contract's keys, `sweeper_failing` counts monitors whose processing raised and is
being retried with backoff (alerts.detection); they do not turn the answer into a 503, as the
sweeper itself still runs, but each is a bug to look at.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from alerts.delivery.health import delivery_age_seconds, outbox_oldest_seconds
from alerts.outages import SWEEPER_NAME
from monitors.models import Monitor, SweeperHeartbeat


def healthz(request: HttpRequest) -> JsonResponse:
    now = timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        sweeper_beat = (
            SweeperHeartbeat.objects.filter(name=SWEEPER_NAME).values_list("beat_at", flat=True).first()
        )
        delivery_age = delivery_age_seconds(now)
        outbox_oldest = outbox_oldest_seconds(now)
        failing = Monitor.objects.filter(sweep_failures__gt=0).count()
    except DatabaseError as error:
        return _answer({"status": "error", "database": "error", "reason": f"database: {error}"}, 503)
    sweeper_age = None if sweeper_beat is None else round((now - sweeper_beat).total_seconds(), 1)
    body: dict[str, object] = {
        "status": "ok",
        "database": "ok",
        "sweeper_age_s": sweeper_age,
        "delivery_age_s": delivery_age,
        "outbox_oldest_s": outbox_oldest,
        "sweeper_failing": failing,
    }
    reasons = [
        reason
        for reason in (
            _sweeper_trouble(sweeper_age),
            _delivery_trouble(delivery_age),
            _outbox_trouble(outbox_oldest),
        )
        if reason
    ]
    if not reasons:
        return _answer(body, 200)
    return _answer({**body, "status": "error", "reason": "; ".join(reasons)}, 503)


def _sweeper_trouble(age: float | None) -> str:
    if age is None:
        return "the sweeper has never run"
    if age > settings.SWEEPER_MAX_AGE_SECONDS:
        return f"the sweeper last ran {age:.0f} s ago (limit {settings.SWEEPER_MAX_AGE_SECONDS} s)"
    return ""


def _delivery_trouble(age: float | None) -> str:
    if age is None:
        return "delivery: no delivery worker has reported yet"
    if age > settings.HEALTH_DELIVERY_MAX_AGE:
        limit = settings.HEALTH_DELIVERY_MAX_AGE
        return f"delivery: no delivery worker reported for {age:.0f} s (limit {limit} s)"
    return ""


def _outbox_trouble(oldest: float) -> str:
    if oldest > settings.HEALTH_OUTBOX_MAX_AGE:
        return (
            f"outbox: a due notification has waited {oldest:.0f} s (limit {settings.HEALTH_OUTBOX_MAX_AGE} s)"
        )
    return ""


def _answer(body: Mapping[str, object], status: int) -> JsonResponse:
    response = JsonResponse(dict(body), status=status)
    response["Cache-Control"] = "no-store"
    return response
