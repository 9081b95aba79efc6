"""`runs/`: the project's runs across its monitors, filtered, newest first, paginated (issue 15)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from monitors.models import MAX_ID, Monitor, Project
from pings.models import Run
from tests.api.builders import make_run
from tests.api.test_runs_and_pings import RUN_FIELDS
from tests.clock import T0, Clock
from tests.conftest import make_client, results
from tests.factories import MonitorFactory, ProjectFactory

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def ids(api: APIClient, query: str = "") -> list[int]:
    response = api.get(f"/api/v1/runs/{query}")
    assert response.status_code == 200, response.content
    return [item["id"] for item in results(response)]


def finished(monitor: Monitor, status: str, hours_ago: float, **fields: Any) -> Run:
    at = T0 - timedelta(hours=hours_ago)
    return make_run(monitor, status=status, started_at=at - timedelta(seconds=5), finished_at=at, **fields)


def test_runs_of_every_monitor_newest_first_with_their_monitor(
    api: APIClient, project: Project, clock: Clock
) -> None:
    backup = MonitorFactory.create(project=project, name="Nightly backup", slug="backup")
    report = MonitorFactory.create(project=project, name="Report", slug="report")
    first = finished(backup, "success", 3, duration_ms=5000)
    second = finished(report, "failed", 2, exit_code=3, log="boom")
    third = make_run(report, status="running", started_at=T0, finished_at=None)

    body = results(api.get("/api/v1/runs/"))

    assert [item["id"] for item in body] == [third.id, second.id, first.id]
    assert set(body[0]) == RUN_FIELDS | {"monitor"}
    assert body[0]["monitor"] == {"id": report.id, "name": "Report", "slug": "report"}
    assert body[2]["monitor"] == {"id": backup.id, "name": "Nightly backup", "slug": "backup"}
    # The same run reads the same here as in its monitor's own list, plus `monitor`.
    own = results(api.get(f"/api/v1/monitors/{report.id}/runs/"))
    assert {k: v for k, v in body[1].items() if k != "monitor"} == own[1]
    assert (body[1]["status"], body[1]["exit_code"], body[1]["log"]) == ("failed", 3, "boom")


def test_filters_by_status_since_monitor_and_tag(api: APIClient, project: Project, clock: Clock) -> None:
    db = MonitorFactory.create(project=project, tags=["db", "nightly"])
    web = MonitorFactory.create(project=project, tags=["web"])
    old_failure = finished(db, "failed", 30)
    db_failure = finished(db, "failed", 5)
    db_success = finished(db, "success", 4)
    web_failure = finished(web, "failed", 1)
    web_running = make_run(web, status="running", started_at=T0 - HOUR, finished_at=None)

    assert ids(api, "?status=failed") == [web_failure.id, db_failure.id, old_failure.id]
    assert ids(api, "?status=failed&since=24h") == [web_failure.id, db_failure.id]
    assert ids(api, "?since=90m") == [web_running.id, web_failure.id]
    assert ids(api, "?since=2d") == [
        web_running.id,
        web_failure.id,
        db_success.id,
        db_failure.id,
        old_failure.id,
    ]
    assert ids(api, "?status=running") == [web_running.id]
    assert ids(api, f"?monitor={db.id}") == [db_success.id, db_failure.id, old_failure.id]
    assert ids(api, f"?monitor={db.id}&status=failed&since=1d") == [db_failure.id]
    assert ids(api, "?tag=db") == [db_success.id, db_failure.id, old_failure.id]
    assert ids(api, "?tag=nightly&status=success") == [db_success.id]
    assert ids(api, "?tag=d") == []  # A tag matches whole, never in part.
    assert ids(api, f"?tag=web&monitor={db.id}") == []
    # Empty values are no filter, as in the monitor list.
    assert len(ids(api, "?status=&since=&tag=")) == 5


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("2026-03-02T10:30:00Z", ["recent"]),
        ("2026-03-02T11:30:00+01:00", ["recent"]),  # 10:30 UTC
        ("2026-03-02T08:00:00+00:00", ["recent", "older"]),
        ("2026-03-02T12:00:01Z", []),  # In the future: nothing yet.
        ("45m", []),
        ("3600s", ["recent"]),
        ("1w", ["recent", "older"]),
    ],
)
def test_since_takes_iso_8601_with_an_offset_or_a_duration(
    api: APIClient, project: Project, clock: Clock, since: str, expected: list[str]
) -> None:
    monitor = MonitorFactory.create(project=project)
    older = finished(monitor, "success", 3)
    runs = {"recent": finished(monitor, "success", 1), "older": older}

    assert ids(api, f"?since={since.replace('+', '%2B')}") == [runs[name].id for name in expected]


def test_since_counts_a_finish_and_a_running_runs_start(
    api: APIClient, project: Project, clock: Clock
) -> None:
    monitor = MonitorFactory.create(project=project)
    # Started two days ago, failed an hour ago: part of "what failed in the last 24 hours".
    long_job = make_run(
        monitor, status="failed", started_at=T0 - timedelta(days=2), finished_at=T0 - HOUR, exit_code=1
    )
    # Still running since two days ago: nothing was heard of it since.
    make_run(monitor, status="running", started_at=T0 - timedelta(days=2), finished_at=None)

    assert ids(api, "?since=24h") == [long_job.id]


def test_another_projects_runs_never_appear(api: APIClient, project: Project, clock: Clock) -> None:
    ours = MonitorFactory.create(project=project, slug="shared-slug", tags=["db"])
    theirs = MonitorFactory.create(project=ProjectFactory.create(), slug="shared-slug", tags=["db"])
    mine = finished(ours, "failed", 1)
    for hours in (0.5, 2, 30):
        finished(theirs, "failed", hours)

    assert ids(api) == [mine.id]
    assert ids(api, "?status=failed&since=7d&tag=db") == [mine.id]
    # Another project's monitor id is no monitor of ours: an empty list, as incidents/ answers.
    assert ids(api, f"?monitor={theirs.id}") == []
    assert api.get("/api/v1/runs/").json()["count"] == 1


def test_read_only_key_reads_the_feed(project: Project, clock: Clock) -> None:
    run = finished(MonitorFactory.create(project=project), "failed", 1)
    assert ids(make_client(project, read_only=True), "?status=failed") == [run.id]


def test_pages_of_fifty_and_next_links_keep_the_filters(
    api: APIClient, project: Project, clock: Clock
) -> None:
    monitor = MonitorFactory.create(project=project)
    Run.objects.bulk_create(
        [Run(monitor=monitor, status="failed", finished_at=T0 - timedelta(minutes=n)) for n in range(55)]
        + [Run(monitor=monitor, status="success", finished_at=T0) for _ in range(10)]
    )

    first = api.get("/api/v1/runs/?status=failed&since=24h").json()
    second = api.get(first["next"]).json()

    assert (first["count"], len(first["results"]), first["previous"]) == (55, 50, None)
    assert "status=failed" in first["next"]
    assert "since=24h" in first["next"]
    assert (second["count"], len(second["results"]), second["next"]) == (55, 5, None)
    every = [item["id"] for item in first["results"] + second["results"]]
    assert every == sorted(every, reverse=True)
    assert {item["status"] for item in first["results"] + second["results"]} == {"failed"}
    assert api.get("/api/v1/runs/?status=failed&page=3").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?status=broken", "status"),
        ("?status=FAILED", "status"),
        ("?since=yesterday", "since"),
        ("?since=24", "since"),
        ("?since=-24h", "since"),
        ("?since=1.5h", "since"),
        ("?since=2026-03-01T00:00:00", "since"),  # No offset: which zone?
        ("?since=2026-02-30T00:00:00Z", "since"),
        ("?since=999999999w", "since"),
        ("?since=" + "1" * 65, "since"),
        ("?monitor=abc", "monitor"),
        ("?monitor=0", "monitor"),
        ("?monitor=-3", "monitor"),
        (f"?monitor={MAX_ID + 1}", "monitor"),
        ("?tag=" + "x" * 51, "tag"),
        ("?tag=a%00b", "tag"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    api: APIClient, project: Project, query: str, field: str
) -> None:
    finished(MonitorFactory.create(project=project), "failed", 1)

    response = api.get(f"/api/v1/runs/{query}")

    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body) == [field]
    assert body[field][0]


def test_a_naive_date_time_is_told_to_add_a_zone(api: APIClient) -> None:
    response = api.get("/api/v1/runs/?since=2026-03-01T00:00:00")
    assert "time zone" in response.json()["since"][0]


def test_queries_do_not_grow_with_runs_or_monitors(api: APIClient, project: Project, clock: Clock) -> None:
    def queries_for_a_page(monitor_count: int) -> int:
        monitors = [MonitorFactory.create(project=project, tags=["db"]) for _ in range(monitor_count)]
        Run.objects.bulk_create(
            [
                Run(monitor=m, status="failed", finished_at=T0 - timedelta(minutes=n))
                for m in monitors
                for n in range(20)
            ]
        )
        with CaptureQueriesContext(connection) as queries:
            body = api.get("/api/v1/runs/?status=failed&since=24h&tag=db").json()
        assert len(body["results"]) == 50
        return len(queries)

    assert queries_for_a_page(3) == queries_for_a_page(30)
