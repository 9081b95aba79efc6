"""`slow`: a finished run far above the monitor's own recent successful durations.

The rule: over the last 20 successful runs with a duration, the threshold is
max(3 × median, p95 + 1 s). No threshold (so no alert) until there are 10 such runs.
"""

from __future__ import annotations

import statistics

from pings.models import Run, RunStatus

HISTORY_RUNS = 20
MIN_HISTORY_RUNS = 10
MARGIN_MS = 1000


def slow_threshold_ms(durations_ms: list[int]) -> int | None:
    if len(durations_ms) < MIN_HISTORY_RUNS:
        return None
    ordered = sorted(durations_ms)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return int(max(3 * median, p95 + MARGIN_MS))


def thresholds_around(*, monitor_id: int, run_id: int) -> tuple[int | None, int | None]:
    """(threshold to judge `run_id` by, threshold for the runs after it).

    The run being judged is not part of its own baseline, but is part of the next one.
    """
    rows = list(
        Run.objects.filter(
            monitor_id=monitor_id, status=RunStatus.SUCCESS, duration_ms__isnull=False, id__lte=run_id
        )
        .order_by("-id")
        .values_list("id", "duration_ms")[: HISTORY_RUNS + 1]
    )
    before = [duration for row_id, duration in rows if row_id != run_id and duration is not None][
        :HISTORY_RUNS
    ]
    including = [duration for _, duration in rows if duration is not None][:HISTORY_RUNS]
    return slow_threshold_ms(before), slow_threshold_ms(including)
