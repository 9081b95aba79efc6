"""Our own outages: gaps in the sweeper's heartbeat, which give deadlines inside them their length back.

The sweeper writes its heartbeat and records a gap longer than SWEEPER_OUTAGE_SECONDS when it
comes back; a ping judged while the sweeper is still away sees that gap as an outage going on
now, so a deadline that passed while nobody was watching is never judged without it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from monitors.models import SweeperHeartbeat, SweeperOutage
from monitors.state import Outage

SWEEPER_NAME = "sweeper"
# Outages older than this no longer matter to any deadline.
OUTAGE_MEMORY = timedelta(days=2)
# How often a sweeper rewrites its heartbeat row (it still sweeps every second).
HEARTBEAT_EVERY = timedelta(seconds=5)


def heartbeat_record(now: datetime) -> None:
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


def outages_recorded(now: datetime) -> tuple[Outage, ...]:
    """The outages the sweeper recorded that can still matter at `now`."""
    rows = SweeperOutage.objects.filter(ended_at__gte=now - OUTAGE_MEMORY).order_by("started_at")
    return tuple(Outage(started_at=row.started_at, ended_at=row.ended_at) for row in rows)


def outages_known(now: datetime) -> tuple[Outage, ...]:
    """For a judgement outside the sweeper: the recorded outages and, when the sweeper has been
    away longer than SWEEPER_OUTAGE_SECONDS, the one going on now."""
    outages = outages_recorded(now)
    beat_at = SweeperHeartbeat.objects.filter(name=SWEEPER_NAME).values_list("beat_at", flat=True).first()
    if beat_at is not None and (now - beat_at).total_seconds() > settings.SWEEPER_OUTAGE_SECONDS:
        outages = (*outages, Outage(started_at=beat_at, ended_at=now))
    return outages
