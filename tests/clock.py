"""Controlled time for tests that drive the real ping endpoint and sweeper."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Clock:
    """Moves time for pings, sweeps and reads alike."""

    def __init__(self, traveller: Any) -> None:
        self.traveller = traveller
        self.now = T0

    def at(self, seconds: float) -> datetime:
        self.now = T0 + timedelta(seconds=seconds)
        self.traveller.move_to(self.now)
        return self.now


@pytest.fixture
def clock(settings: Any) -> Iterator[Clock]:
    """Time stopped at T0, moved only by `Clock.at`."""
    # These tests jump time; a jump is not an outage of the sweeper (that has its own test).
    settings.SWEEPER_OUTAGE_SECONDS = 10**9
    with time_machine.travel(T0, tick=False) as traveller:
        yield Clock(traveller)
