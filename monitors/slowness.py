"""`slow`: a finished run far above the monitor's own recent successful durations (pure).

The rule: over the last 20 successful runs with a duration, the threshold is
max(3 × median, p95 + 1 s). No threshold (so no alert) until there are 10 such runs. The
monitor row keeps those durations (`recent_durations_ms`), so judging reads no history.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

HISTORY_RUNS = 20
MIN_HISTORY_RUNS = 10
MARGIN_MS = 1000


def slow_threshold_ms(durations_ms: Sequence[int]) -> int | None:
    recent = list(durations_ms)[-HISTORY_RUNS:]
    if len(recent) < MIN_HISTORY_RUNS:
        return None
    ordered = sorted(recent)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return int(max(3 * median, p95 + MARGIN_MS))


def with_duration(durations_ms: Sequence[int], duration_ms: int) -> tuple[int, ...]:
    """The window after one more successful run: the newest HISTORY_RUNS, oldest first."""
    return (*durations_ms, duration_ms)[-HISTORY_RUNS:]
