"""The audit record of Run now requests: one function, so the audit log can take it over."""

from __future__ import annotations

import logging

from triggers.models import RunRequest

logger = logging.getLogger("vigil.audit")


def run_request_audit(request: RunRequest, *, via: str) -> None:
    """Record that `request.requested_by` asked for a run of the monitor, through `via` (ui/api/cli)."""
    logger.info(
        "run requested: monitor %s (%s), request %s, rid %s, by %s via %s",
        request.monitor_id,
        request.monitor.slug,
        request.id,
        request.rid,
        request.requested_by,
        via,
    )
