"""The sweeper: every second, process the monitors whose deadline has passed.

It reads only due rows (a partial index on `deadline`), so a sweep costs what is due, not
what exists. Each monitor is claimed by a conditional UPDATE on its revision: the row count
says which sweeper won, so any number can run at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from alerts.detection import process_monitor
from monitors.models import Monitor, SweeperHeartbeat, SweeperOutage

SWEEPER_NAME = "sweeper"
BATCH_SIZE = 500
# Outages older than this no longer matter to any deadline.
OUTAGE_MEMORY = timedelta(days=2)
# How often a sweeper rewrites its heartbeat row (it still sweeps every second).
HEARTBEAT_EVERY = timedelta(seconds=5)

logger = logging.getLogger(__name__)


def sweep(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """One pass; returns how many monitors this sweeper processed."""
    now = now or timezone.now()
    _record_heartbeat(now)
    due = list(
        Monitor.objects.filter(deadline__lte=now)
        .order_by("deadline")
        .values_list("id", "revision")[:batch_size]
    )
    if not due:
        return 0  # the common case: two reads, and a heartbeat write every few seconds
    outages = list(SweeperOutage.objects.filter(ended_at__gte=now - OUTAGE_MEMORY).order_by("started_at"))
    processed = 0
    for monitor_id, revision in due:
        try:
            processed += _process_one(monitor_id, revision, now=now, outages=outages)
        except Exception:
            # One broken monitor must not stop the others; it stays due and is retried.
            logger.exception("sweeper failed on monitor %s", monitor_id)
    return processed


def _process_one(monitor_id: int, revision: int, *, now: datetime, outages: list[SweeperOutage]) -> int:
    with transaction.atomic():
        claimed = Monitor.objects.filter(id=monitor_id, revision=revision, deadline__lte=now).update(
            revision=F("revision") + 1
        )
        if not claimed:
            return 0  # another sweeper, or a ping, got there first; it is re-read next pass
        monitor = Monitor.objects.select_related("project").get(id=monitor_id)
        process_monitor(monitor, now=now, outages=outages)
    return 1


def _record_heartbeat(now: datetime) -> None:
    """Note that a sweeper ran; a gap longer than SWEEPER_OUTAGE_SECONDS becomes an outage.

    The row is rewritten only when it is older than HEARTBEAT_EVERY: a durable write every
    second would cost more than the sweep itself, and the outage threshold and /healthz's
    limit are both far above that step.
    """
    previous = SweeperHeartbeat.objects.filter(name=SWEEPER_NAME).values_list("beat_at", flat=True).first()
    if previous is not None and now - previous < HEARTBEAT_EVERY:
        return
    if previous is not None and (now - previous).total_seconds() > settings.SWEEPER_OUTAGE_SECONDS:
        try:
            with transaction.atomic():
                SweeperOutage.objects.create(started_at=previous, ended_at=now)
        except IntegrityError:
            pass  # a concurrent sweeper recorded the same gap
    updated = SweeperHeartbeat.objects.filter(name=SWEEPER_NAME, beat_at__lt=now).update(beat_at=now)
    if not updated and previous is None:
        try:
            with transaction.atomic():
                SweeperHeartbeat.objects.create(name=SWEEPER_NAME, beat_at=now)
        except IntegrityError:
            pass
