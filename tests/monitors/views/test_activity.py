"""The activity page: every run of a project, newest first, with the runs feed's filters
(status, since, monitor, tag) and keyset pages; other projects' runs never show."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from monitors.models import Monitor, Project
from tests.api.builders import make_run
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


def activity(project: Project) -> str:
    return f"/projects/{project.id}/activity/"


def run_ids(response: Any) -> list[int]:
    return [int(found) for found in re.findall(r'<tr id="run-(\d+)">', response.content.decode())]


@pytest.fixture
def jobs(project: Project) -> tuple[Monitor, Monitor]:
    return (
        MonitorFactory.create(project=project, name="Backup", tags=["prod", "db"]),
        MonitorFactory.create(project=project, name="Report", tags=["reports"]),
    )


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, project: Project) -> None:
    response = client.get(activity(project))
    assert response["Location"] == f"/accounts/login/?next={activity(project)}"


def test_another_projects_activity_is_not_found(signed_in: Client, strangers_monitor: Monitor) -> None:
    make_run(strangers_monitor)
    assert signed_in.get(activity(strangers_monitor.project)).status_code == 404


def test_every_run_of_the_project_newest_first_and_no_one_elses(
    signed_in: Client, project: Project, jobs: tuple[Monitor, Monitor], strangers_monitor: Monitor
) -> None:
    backup, report = jobs
    made = [
        make_run(backup),
        make_run(report, status="failed", exit_code=2),
        make_run(backup, status="running"),
    ]
    make_run(strangers_monitor)
    response = signed_in.get(activity(project))
    assert run_ids(response) == [run.id for run in reversed(made)]
    page = response.content.decode()
    assert f'<a href="/monitors/{report.id}/">Report</a>' in page
    assert "Their job" not in page
    assert response.context["nav_section"] == "activity"
    assert f'href="/projects/{project.id}/activity/" aria-current="page">Activity</a>' in page


def test_the_feeds_filters(signed_in: Client, project: Project, jobs: tuple[Monitor, Monitor]) -> None:
    backup, report = jobs
    now = timezone.now()
    old_failure = make_run(backup, status="failed", finished_at=now - timedelta(days=3))
    failure = make_run(report, status="failed", finished_at=now - timedelta(hours=1))
    success = make_run(backup, finished_at=now - timedelta(minutes=5))
    assert run_ids(signed_in.get(activity(project) + "?status=failed")) == [failure.id, old_failure.id]
    assert run_ids(signed_in.get(activity(project) + "?since=24h")) == [success.id, failure.id]
    assert run_ids(signed_in.get(activity(project) + "?status=failed&since=24h")) == [failure.id]
    assert run_ids(signed_in.get(activity(project) + f"?monitor={backup.id}")) == [success.id, old_failure.id]
    assert run_ids(signed_in.get(activity(project) + "?tag=reports")) == [failure.id]
    since = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert run_ids(signed_in.get(activity(project) + f"?since={since}")) == [success.id, failure.id]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("?since=yesterday", "Not a date-time"),
        ("?since=2026-03-01T00:00:00", "Give the date-time a time zone"),
        ("?status=exploded", "Select a valid choice"),
        ("?monitor=abc", "Select a valid choice"),
    ],
)
def test_a_bad_filter_is_explained_and_narrows_nothing(
    signed_in: Client, project: Project, jobs: tuple[Monitor, Monitor], query: str, error: str
) -> None:
    run = make_run(jobs[0])
    response = signed_in.get(activity(project) + query)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert run_ids(response) == [run.id]


def test_another_projects_monitor_is_no_choice(
    signed_in: Client, project: Project, jobs: tuple[Monitor, Monitor], strangers_monitor: Monitor
) -> None:
    make_run(strangers_monitor)
    response = signed_in.get(activity(project) + f"?monitor={strangers_monitor.id}")
    assert "Select a valid choice" in response.content.decode()
    assert "Their job" not in response.content.decode()


def test_pages_go_by_run_id_and_keep_the_filters(
    signed_in: Client, project: Project, jobs: tuple[Monitor, Monitor]
) -> None:
    made = [make_run(jobs[0], status="failed") for _ in range(55)]
    first = signed_in.get(activity(project) + "?status=failed")
    assert run_ids(first) == [run.id for run in reversed(made)][:50]
    older = f"?status=failed&amp;before={made[5].id}"
    assert older in first.content.decode()
    second = signed_in.get(activity(project) + f"?status=failed&before={made[5].id}", **HTMX)
    assert run_ids(second) == [run.id for run in reversed(made[:5])]
    assert "<html" not in second.content.decode()
    assert "Older runs" not in second.content.decode()
    assert "← Newest runs" in second.content.decode()


def test_empty_states(signed_in: Client, project: Project) -> None:
    assert "No monitors yet" in signed_in.get(activity(project)).content.decode()
    MonitorFactory.create(project=project)
    assert "No runs yet" in signed_in.get(activity(project)).content.decode()
    assert "No runs match" in signed_in.get(activity(project) + "?status=failed").content.decode()


def test_only_reads_are_allowed(signed_in: Client, project: Project) -> None:
    assert signed_in.post(activity(project)).status_code == 405
