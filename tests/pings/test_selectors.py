"""Recent run outcomes of many monitors in one query, oldest first."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pings.selectors import RunOutcome, recent_outcomes, run_outcome
from tests.api.builders import make_run
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db


def test_the_last_outcomes_of_each_monitor_oldest_first_in_one_query() -> None:
    busy, quiet, idle = (MonitorFactory.create() for _ in range(3))
    for index in range(45):
        make_run(busy, status="failed" if index in {14, 15, 44} else "success")
    for _ in range(3):
        make_run(quiet)
    with CaptureQueriesContext(connection) as queries:
        outcomes = recent_outcomes(monitor_ids=[busy.id, quiet.id, idle.id])
    assert len(queries) == 1
    # The last 30 of 45: runs 15..44, so the failed run 15 is first and 14 is cut off.
    assert outcomes[busy.id] == [RunOutcome.FAILED] + [RunOutcome.SUCCESS] * 28 + [RunOutcome.FAILED]
    assert outcomes[quiet.id] == [RunOutcome.SUCCESS] * 3
    assert outcomes[idle.id] == []


def test_fewer_per_monitor_and_no_monitors() -> None:
    monitor = MonitorFactory.create()
    for status in ("success", "success", "success", "failed", "running"):
        make_run(monitor, status=status)
    assert recent_outcomes(monitor_ids=[monitor.id], per_monitor=2)[monitor.id] == [
        RunOutcome.FAILED,
        RunOutcome.RUNNING,
    ]
    assert recent_outcomes(monitor_ids=[]) == {}


def test_outcomes_read_at_a_glance() -> None:
    monitor = MonitorFactory.create()
    make_run(monitor, status="success")
    make_run(monitor, status="failed")
    make_run(monitor, status="success", overlap=True)
    make_run(monitor, status="failed", closed_reason="too_long")
    make_run(monitor, status="running", finished_at=None)
    assert recent_outcomes(monitor_ids=[monitor.id])[monitor.id] == [
        RunOutcome.SUCCESS,
        RunOutcome.FAILED,
        RunOutcome.OVERLAP,
        RunOutcome.TOO_LONG,
        RunOutcome.RUNNING,
    ]


def test_too_long_wins_over_overlap_and_overlap_over_failure() -> None:
    assert run_outcome(status="failed", overlap=True, closed_reason="too_long") is RunOutcome.TOO_LONG
    assert run_outcome(status="failed", overlap=True, closed_reason="") is RunOutcome.OVERLAP
    assert run_outcome(status="running", overlap=True, closed_reason="") is RunOutcome.OVERLAP
