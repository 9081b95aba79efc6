"""Reads of Run now for the monitor page."""

from __future__ import annotations

from dataclasses import dataclass

from monitors.models import Monitor
from triggers.models import OPEN_REQUEST_STATUSES, RunRequest, Trigger
from triggers.services import trigger_of

REQUESTS_SHOWN = 5


@dataclass(frozen=True)
class RunNowPanel:
    trigger: Trigger | None
    requests: list[RunRequest]

    @property
    def in_progress(self) -> bool:
        """While a request may still move on, the panel keeps polling."""
        return any(request.status in OPEN_REQUEST_STATUSES for request in self.requests)


def run_now_panel(*, monitor: Monitor) -> RunNowPanel:
    requests = list(
        RunRequest.objects.filter(monitor=monitor)
        .prefetch_related("attempts")
        .order_by("-id")[:REQUESTS_SHOWN]
    )
    return RunNowPanel(trigger=trigger_of(monitor), requests=requests)
