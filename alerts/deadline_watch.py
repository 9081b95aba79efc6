"""The deadline watcher: sweep at the next deadline, not at the next tick, and hand the outbox
rows it wrote to the delivery workers at once.

Beat sends `alerts.tasks.sweep` every second; each run watches for one WATCH_SECONDS window:
it sweeps, reads the next deadline (the first entry of the partial index on `deadline`) and
sleeps until then, or for POLL_SECONDS at most, since a ping may set an earlier deadline
meanwhile. A miss is thus detected within a few milliseconds of its deadline instead of up to
a second later, and its outbox rows are dispatched in the same run, right after the commit,
instead of at the dispatcher's next tick.

When a sweep finds more due monitors than a batch, the watcher asks for helpers
(`on_backlog`): other housekeeping workers then sweep alongside it, splitting the due
monitors between them (`FOR UPDATE SKIP LOCKED`, alerts.detection).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from alerts.sweeper import BATCH_SIZE, sweep
from monitors.models import Monitor

WATCH_SECONDS = 1.0
# The longest sleep between two looks at the next deadline.
POLL_SECONDS = 0.25
# A deadline already passed after a sweep is one another sweeper holds: look again shortly.
MIN_SLEEP_SECONDS = 0.01


def next_deadline() -> datetime | None:
    return (
        Monitor.objects.filter(deadline__isnull=False)
        .order_by("deadline")
        .values_list("deadline", flat=True)
        .first()
    )


def watch(
    *,
    seconds: float = WATCH_SECONDS,
    after_batch: Callable[[], None],
    on_backlog: Callable[[], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Sweep at each deadline for `seconds`; `after_batch` runs after every committed batch that
    processed some (the caller dispatches their outbox rows). Returns how many were processed."""
    ends = time.monotonic() + seconds
    processed = 0
    while True:
        processed += sweep(
            batch_size=batch_size,
            after_batch=after_batch,
            on_backlog=on_backlog,
        )
        left = ends - time.monotonic()
        if left <= 0:
            return processed
        time.sleep(max(MIN_SLEEP_SECONDS, min(left, POLL_SECONDS, _until(next_deadline()))))


def _until(deadline: datetime | None) -> float:
    if deadline is None:
        return POLL_SECONDS
    return (deadline - timezone.now()).total_seconds()
