"""`/healthz`: the database answers and the sweeper ran recently (CONTRACT §5)."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from alerts.sweeper import SWEEPER_NAME
from monitors.models import SweeperHeartbeat


def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        heartbeat = SweeperHeartbeat.objects.filter(name=SWEEPER_NAME).first()
    except DatabaseError as error:
        return _answer({"status": "error", "database": "error", "reason": f"database: {error}"}, 503)
    if heartbeat is None:
        body = {
            "status": "error",
            "database": "ok",
            "sweeper_age_s": None,
            "reason": "the sweeper has never run",
        }
        return _answer(body, 503)
    age = round((timezone.now() - heartbeat.beat_at).total_seconds(), 1)
    if age > settings.SWEEPER_MAX_AGE_SECONDS:
        reason = f"the sweeper last ran {age:.0f} s ago (limit {settings.SWEEPER_MAX_AGE_SECONDS} s)"
        return _answer({"status": "error", "database": "ok", "sweeper_age_s": age, "reason": reason}, 503)
    return _answer({"status": "ok", "database": "ok", "sweeper_age_s": age}, 200)


def _answer(body: Mapping[str, object], status: int) -> JsonResponse:
    response = JsonResponse(dict(body), status=status)
    response["Cache-Control"] = "no-store"
    return response
