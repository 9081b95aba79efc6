"""The per-monitor ping rate limit (CONTRACT §2: `429` with `Retry-After`).

A fixed window per minute: the monitor row holds the minute being counted (`rate_window`) and
the pings counted in it (`rate_count`). A ping is counted in the statement that stores it
(pings.fastpath on PostgreSQL, the monitor's own UPDATE on the locked path), so the limit costs
no extra round trip; a refused ping is stored nowhere and only adds one to `pings_refused`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class RateWindow:
    """The minute a ping falls in and the pings a monitor may take in it (limit 0: no limit)."""

    start: datetime
    limit: int

    @property
    def enabled(self) -> bool:
        return self.limit > 0


def rate_window(now: datetime) -> RateWindow:
    return RateWindow(start=now.replace(second=0, microsecond=0), limit=settings.PING_RATE_LIMIT_PER_MINUTE)


def retry_after_seconds(now: datetime) -> int:
    """Whole seconds until the window that refused a ping at `now` ends (at least 1)."""
    window = rate_window(now)
    left = (window.start + WINDOW - now).total_seconds()
    return max(1, math.ceil(left))


def is_spent(window: RateWindow, *, counted_window: datetime | None, counted: int) -> bool:
    """The locked path's decision, the same as the SQL's in pings.fastpath."""
    return window.enabled and counted_window == window.start and counted >= window.limit


def counted_columns(window: RateWindow, *, counted_window: datetime | None, counted: int) -> dict[str, Any]:
    """The columns that count one more ping in `window` (nothing when the limit is off)."""
    if not window.enabled:
        return {}
    return {"rate_window": window.start, "rate_count": counted + 1 if counted_window == window.start else 1}
