"""Fixtures for tests that move time: see tests/api/timeline.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from tests.api.timeline import T0, Clock


@pytest.fixture
def clock(settings: Any) -> Iterator[Clock]:
    # These tests jump time; a jump is not an outage of the sweeper (that has its own test).
    settings.SWEEPER_OUTAGE_SECONDS = 10**9
    with time_machine.travel(T0, tick=False) as traveller:
        yield Clock(traveller)
