"""The requested run reports in: its start or finish ping carries the request's rid.

Called after the ping is committed (pings.signals.run_reported), only for rids of the version
Vigil gives requests, so other pings never get here. With a request behind its rid, the run
is marked manual with who asked, and the request moves on to started or finished: also from
undeliverable or expired, since a run that reports did start after all (a receiver that ran
the job yet answered 500).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from django.db import transaction

from pings.models import Run
from triggers.models import UNSTARTED_STATUSES, RunRequest, RunRequestStatus

logger = logging.getLogger(__name__)


def on_run_reported(sender: Any, *, rid: uuid.UUID, started: bool, at: datetime, **_: Any) -> None:
    try:
        run_request_report(rid=rid, started=started, at=at)
    except Exception:
        # The ping is stored and answered whatever happens here: a 5xx would make the client
        # send it again (a second run). The request then ends as expired, which tells.
        logger.exception("could not mark the run with rid %s as requested", rid)


def run_request_report(*, rid: uuid.UUID, started: bool, at: datetime) -> RunRequest | None:
    """Mark the run with `rid` as requested; returns the request when there is one."""
    request = RunRequest.objects.filter(rid=rid).only("id", "monitor_id", "requested_by").first()
    if request is None:
        return None
    with transaction.atomic():
        run = Run.objects.filter(monitor_id=request.monitor_id, rid=rid).order_by("-id").only("id").first()
        if run is None:
            # The rid reached another monitor: not this request's run.
            return None
        Run.objects.filter(id=run.id).update(manual=True, requested_by=request.requested_by)
        if started:
            not_started = (*UNSTARTED_STATUSES, RunRequestStatus.UNDELIVERABLE, RunRequestStatus.EXPIRED)
            RunRequest.objects.filter(id=request.id, status__in=not_started).update(
                status=RunRequestStatus.STARTED, started_at=at, run=run
            )
        else:
            RunRequest.objects.filter(id=request.id).exclude(status=RunRequestStatus.FINISHED).update(
                status=RunRequestStatus.FINISHED, finished_at=at, run=run
            )
    request.refresh_from_db()
    return request
