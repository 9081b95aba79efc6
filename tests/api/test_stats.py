"""`monitors/<id>/stats/`: success rates, duration percentiles, recent failures (CONTRACT §4)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from monitors.models import Monitor, Project
from pings.models import Run
from pings.selectors import DURATION_SAMPLE, nearest_rank
from tests.api.builders import make_run
from tests.api.test_runs_and_pings import RUN_FIELDS
from tests.clock import T0, Clock
from tests.conftest import make_client
from tests.factories import MonitorFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def finished(
    monitor: Monitor, status: str, hours_ago: float, duration_ms: int | None = None, **fields: Any
) -> Run:
    at = T0 - timedelta(hours=hours_ago)
    started = at - timedelta(milliseconds=duration_ms) if duration_ms is not None else None
    return make_run(
        monitor, status=status, started_at=started, finished_at=at, duration_ms=duration_ms, **fields
    )


def stats(api: APIClient, monitor: Monitor) -> dict[str, Any]:
    response = api.get(f"/api/v1/monitors/{monitor.id}/stats/")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def test_figures_of_a_seeded_history(api: APIClient, monitor: Monitor, clock: Clock) -> None:
    # Older than 30 days: in no window, and not a duration either.
    finished(monitor, "success", 24 * 31, duration_ms=99_000)
    finished(monitor, "failed", 24 * 40, exit_code=9)
    # 7 to 30 days ago: four successes.
    for n, duration in enumerate((600, 700, 800, 900)):
        finished(monitor, "success", 24 * 8 + n, duration_ms=duration)
    # 1 to 7 days ago: two successes and two failures.
    finished(monitor, "success", 30, duration_ms=400)
    finished(monitor, "success", 48, duration_ms=500)
    finished(monitor, "failed", 50, exit_code=1)
    finished(monitor, "failed", 72, exit_code=2)
    # The last 24 hours: three successes (one without a start, so without a duration), a failure.
    finished(monitor, "success", 20, duration_ms=100)
    newest_failure = finished(monitor, "failed", 3, duration_ms=2_000, exit_code=3, log="disk full")
    finished(monitor, "success", 2, duration_ms=300)
    finished(monitor, "success", 1)
    # Running: not finished, so in no figure.
    make_run(monitor, status="running", started_at=T0 - timedelta(minutes=5), finished_at=None)
    # Another monitor's runs count for it alone.
    other = MonitorFactory.create(project=monitor.project)
    finished(other, "failed", 1)

    body = stats(api, monitor)

    assert body["success_rate"] == {"24h": 0.75, "7d": 0.625, "30d": 0.75}
    # Successful durations of the last 30 days, sorted: 100 300 400 500 600 700 800 900 (8).
    # Nearest rank: p50 is the 4th, p95 the 8th.
    assert body["duration_ms"] == {"p50": 500, "p95": 900}
    assert body["failures_24h"] == 1
    assert body["last_failure"]["id"] == newest_failure.id
    assert set(body["last_failure"]) == RUN_FIELDS
    assert (body["last_failure"]["exit_code"], body["last_failure"]["log"]) == (3, "disk full")
    assert set(body) == {"success_rate", "duration_ms", "failures_24h", "last_failure"}


def test_window_edges_are_inclusive_and_later_runs_are_not_counted_yet(
    api: APIClient, monitor: Monitor, clock: Clock
) -> None:
    finished(monitor, "failed", 24)  # Exactly 24 hours ago: in.
    finished(monitor, "success", 24 * 7 + 0.001)  # Just over 7 days: only in 30d.
    finished(monitor, "success", -1)  # An hour ahead of the clock: not yet.

    body = stats(api, monitor)

    assert body["success_rate"] == {"24h": 0.0, "7d": 0.0, "30d": 0.5}
    assert body["failures_24h"] == 1


def test_a_monitor_without_finished_runs_has_nulls(api: APIClient, monitor: Monitor, clock: Clock) -> None:
    make_run(monitor, status="running", started_at=T0, finished_at=None)

    assert stats(api, monitor) == {
        "success_rate": {"24h": None, "7d": None, "30d": None},
        "duration_ms": {"p50": None, "p95": None},
        "failures_24h": 0,
        "last_failure": None,
    }


def test_only_old_runs_leave_rates_null_but_keep_the_last_failure(
    api: APIClient, monitor: Monitor, clock: Clock
) -> None:
    failure = finished(monitor, "failed", 24 * 45, exit_code=4)
    finished(monitor, "success", 24 * 44, duration_ms=1000)

    body = stats(api, monitor)

    assert body["success_rate"] == {"24h": None, "7d": None, "30d": None}
    assert body["duration_ms"] == {"p50": None, "p95": None}
    assert body["failures_24h"] == 0
    assert body["last_failure"]["id"] == failure.id


def test_failures_only_is_a_rate_of_zero(api: APIClient, monitor: Monitor, clock: Clock) -> None:
    finished(monitor, "failed", 1)
    finished(monitor, "failed", 2)

    body = stats(api, monitor)

    assert body["success_rate"] == {"24h": 0.0, "7d": 0.0, "30d": 0.0}
    assert body["duration_ms"] == {"p50": None, "p95": None}
    assert body["failures_24h"] == 2


def test_percentiles_use_the_newest_runs_only(api: APIClient, monitor: Monitor, clock: Clock) -> None:
    # Five slow runs 20 days ago, then DURATION_SAMPLE quick ones: the slow ones fall outside.
    Run.objects.bulk_create(
        [
            Run(monitor=monitor, status="success", finished_at=T0 - timedelta(days=20), duration_ms=1_000_000)
            for _ in range(5)
        ]
        + [
            Run(
                monitor=monitor,
                status="success",
                finished_at=T0 - timedelta(minutes=n),
                duration_ms=10 + n % 10,
            )
            for n in range(DURATION_SAMPLE)
        ]
    )

    body = stats(api, monitor)

    assert body["duration_ms"] == {"p50": 14, "p95": 19}
    assert body["success_rate"]["30d"] == 1.0


def test_nearest_rank() -> None:
    assert nearest_rank([], 50) is None
    assert nearest_rank([7], 95) == 7
    assert nearest_rank([1, 2, 3, 4], 50) == 2
    assert nearest_rank(list(range(1, 101)), 95) == 95
    assert nearest_rank(list(range(1, 21)), 95) == 19


def test_rates_are_rounded_to_four_places(api: APIClient, monitor: Monitor, clock: Clock) -> None:
    for hours in (1, 2):
        finished(monitor, "success", hours)
    finished(monitor, "failed", 3)

    assert stats(api, monitor)["success_rate"]["24h"] == 0.6667


def test_another_projects_monitor_is_404(monitor: Monitor) -> None:
    finished(monitor, "failed", 1)
    response = make_client(ProjectFactory.create()).get(f"/api/v1/monitors/{monitor.id}/stats/")

    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


def test_unknown_monitor_is_404(api: APIClient) -> None:
    assert api.get("/api/v1/monitors/987654321/stats/").status_code == 404


def test_read_only_key_reads_stats(project: Project, monitor: Monitor, clock: Clock) -> None:
    finished(monitor, "success", 1, duration_ms=250)
    body = stats(make_client(project, read_only=True), monitor)
    assert body["duration_ms"] == {"p50": 250, "p95": 250}


def test_query_count_does_not_grow_with_history(api: APIClient, monitor: Monitor, clock: Clock) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            stats(api, monitor)
        return len(captured)

    finished(monitor, "failed", 1)
    few = queries()
    Run.objects.bulk_create(
        [Run(monitor=monitor, status="success", finished_at=T0 - timedelta(minutes=n)) for n in range(500)]
    )

    assert queries() == few
