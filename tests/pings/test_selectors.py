"""Recent runs of many monitors in one query, oldest first, each with its outcome."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pings.selectors import RunOutcome, recent_runs, run_outcome
from tests.api.builders import make_run
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db


def test_the_last_runs_of_each_monitor_oldest_first_in_one_query() -> None:
    busy, quiet, idle = (MonitorFactory.create() for _ in range(3))
    busy_runs = [make_run(busy, exit_code=index) for index in range(45)]
    quiet_runs = [make_run(quiet) for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        runs = recent_runs(monitor_ids=[busy.id, quiet.id, idle.id])
    assert len(queries) == 1
    assert [run.id for run in runs[busy.id]] == [run.id for run in busy_runs[-30:]]
    assert [run.exit_code for run in runs[busy.id]][:2] == [15, 16]
    assert [run.id for run in runs[quiet.id]] == [run.id for run in quiet_runs]
    assert runs[idle.id] == []
    newest = runs[busy.id][-1]
    finished = busy_runs[-1].finished_at
    assert finished is not None
    assert newest.at == f"{finished.astimezone(UTC):%Y-%m-%d %H:%M}"


def test_fewer_per_monitor_and_no_monitors() -> None:
    monitor = MonitorFactory.create()
    made = [make_run(monitor) for _ in range(5)]
    assert [run.id for run in recent_runs(monitor_ids=[monitor.id], per_monitor=2)[monitor.id]] == [
        made[3].id,
        made[4].id,
    ]
    assert recent_runs(monitor_ids=[]) == {}


def test_outcomes_read_at_a_glance() -> None:
    monitor = MonitorFactory.create()
    make_run(monitor, status="success")
    make_run(monitor, status="failed")
    make_run(monitor, status="success", overlap=True)
    make_run(monitor, status="failed", closed_reason="too_long")
    make_run(monitor, status="running", finished_at=None)
    outcomes = [run.outcome for run in recent_runs(monitor_ids=[monitor.id])[monitor.id]]
    assert outcomes == [
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
