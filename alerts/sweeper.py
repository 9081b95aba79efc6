"""The sweeper: every second, process the monitors whose deadline has passed.

It reads only due rows (a partial index on `deadline`), so a sweep costs what is due, not
what exists. Due monitors are claimed in batches with `FOR UPDATE SKIP LOCKED`
(alerts.detection), so any number of sweepers can run at once and split the work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import DatabaseError
from django.utils import timezone

from alerts.detection import BatchResult, back_off, detect_batch
from alerts.outages import heartbeat_record, outages_recorded
from monitors.models import Monitor
from monitors.state import Outage

BATCH_SIZE = 50
# A pass stops after this many batches; the next pass (a second later) goes on.
MAX_BATCHES_PER_SWEEP = 20

logger = logging.getLogger(__name__)


def sweep(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    after_batch: Callable[[], None] | None = None,
    on_backlog: Callable[[], None] | None = None,
) -> int:
    """One pass; returns how many monitors this sweeper processed. `after_batch` runs after
    each batch that processed some (committed: its outbox rows can be dispatched);
    `on_backlog` once when the first batch comes back full (other sweepers may join in)."""
    now = now or timezone.now()
    heartbeat_record(now)
    if not Monitor.objects.filter(deadline__lte=now).exists():
        return 0  # the common case: two reads, and a heartbeat write every few seconds
    outages = outages_recorded(now)
    processed = 0
    for batch in range(MAX_BATCHES_PER_SWEEP):
        result = _batch(now=now, outages=outages, batch_size=batch_size)
        processed += result.processed
        if after_batch is not None and result.processed:
            after_batch()
        for monitor_id, error in result.failed:
            back_off(monitor_id, error, now=now)
        if result.claimed < batch_size:
            break
        if on_backlog is not None and batch == 0:
            on_backlog()
    return processed


def _batch(*, now: datetime, outages: tuple[Outage, ...], batch_size: int) -> BatchResult:
    """A batch; if writing it fails, each of its monitors alone, so one bad row cannot block the rest."""
    try:
        return detect_batch(now=now, outages=outages, batch_size=batch_size)
    except DatabaseError:
        logger.exception("sweeper: a batch failed to write; processing its monitors one by one")
    result = BatchResult()
    due = list(
        Monitor.objects.filter(deadline__lte=now)
        .order_by("deadline")
        .values_list("id", flat=True)[:batch_size]
    )
    for monitor_id in due:
        try:
            alone = detect_batch(now=now, outages=outages, batch_size=1, only_ids=[monitor_id])
        except DatabaseError as error:
            result.claimed += 1
            result.failed.append((monitor_id, error))
            continue
        result.claimed += alone.claimed
        result.processed += alone.processed
        result.failed += alone.failed
    return result
