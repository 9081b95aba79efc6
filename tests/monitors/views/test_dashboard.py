"""The dashboard: a project's monitors with status, schedule, times and run ticks; filters in
the URL; one URL serving the page or its htmx partial; a query count that ignores the size."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings

from monitors.models import Membership, Monitor, MonitorStatus, Project
from tests.api.builders import make_run
from tests.factories import MonitorFactory, ProjectFactory, member
from tests.showcase import SHOWCASE, showcase_project

pytestmark = pytest.mark.django_db
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


def rows_of(response) -> list[str]:
    """Slugs of the monitor rows, read from the HTML (partials render without test context)."""
    return re.findall(r'<span class="slug">([^<]*)</span>', response.content.decode())


def ticks_of(html: str) -> list[str]:
    """The outcomes a strip shows, oldest first: each stretch of equal outcomes is one element
    whose run count is its --n (1 when unset)."""
    stretches = re.findall(r'<span class="tick tick-(\w+)"(?: style="--n:(\d+)")?>', html)
    return [outcome for outcome, count in stretches for _ in range(int(count or 1))]


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, project: Project) -> None:
    for path in ("/", f"/projects/{project.id}/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={path}"


def test_an_htmx_poll_after_the_session_ended_reloads_to_sign_in(client: Client, project: Project) -> None:
    response = client.get(f"/projects/{project.id}/?status=down", **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/accounts/login/?next=/projects/{project.id}/"


def test_lists_the_projects_monitors_with_status_schedule_and_ticks(
    signed_in: Client, project: Project
) -> None:
    showcase_project(project)
    MonitorFactory.create(project=ProjectFactory.create(), slug="not-mine")
    response = signed_in.get("/")
    assert response.status_code == 200
    assert sorted(rows_of(response)) == sorted(slug for _, slug, *_ in SHOWCASE)
    page = response.content.decode()
    assert "not-mine" not in page
    for status in MonitorStatus.values:
        assert f'<span class="status status-{status}">{status}</span>' in page
    assert "03:00 daily, Europe/Berlin" in page
    assert "every 5 minutes" in page
    assert 'aria-label="Last 30 runs: 20 success, 8 failed, 1 overlap, 1 too long"' in page
    strip = re.search(r'<tr id="monitor-\d+" data-status="down">.*?</tr>', page)
    assert strip is not None
    assert (
        ticks_of(strip[0])
        == ["success"] * 20 + ["failed"] * 2 + ["too_long", "failed", "overlap"] + ["failed"] * 5
    )
    assert len(ticks_of(page)) == sum(min(len(runs), 30) for *_, runs in SHOWCASE)
    assert f'href="/monitors/{project.monitors.get(slug="db-backup").id}/"' in page
    assert "<time datetime=" in page
    assert "data-relative" in page


def test_summary_counts_every_status(signed_in: Client, project: Project) -> None:
    showcase_project(project)
    MonitorFactory.create(project=project, status=MonitorStatus.DOWN)
    summary = {item.status: item.count for item in signed_in.get("/").context["summary"]}
    assert summary == {"up": 1, "late": 1, "down": 2, "running": 1, "paused": 1, "new": 1}


@pytest.mark.parametrize(
    ("query", "slugs"),
    [
        ("?status=down", ["stock-sync"]),
        ("?tag=prod", ["cert-renewal", "db-backup", "stock-sync"]),
        ("?q=STOCK", ["stock-sync"]),
        ("?q=backup", ["db-backup"]),
        ("?tag=prod&status=up", ["db-backup"]),
        ("?tag=pro", []),
    ],
)
def test_filters_come_from_the_url(signed_in: Client, project: Project, query: str, slugs: list[str]) -> None:
    showcase_project(project)
    response = signed_in.get(f"/{query}")
    assert sorted(rows_of(response)) == slugs
    if not slugs:
        assert "No monitors match" in response.content.decode()


def test_an_unknown_status_filter_is_an_error_and_narrows_nothing(
    signed_in: Client, project: Project
) -> None:
    showcase_project(project)
    response = signed_in.get("/?status=sideways&q=stock")
    assert response.status_code == 200
    assert len(rows_of(response)) == len(SHOWCASE)
    assert "Select a valid choice" in response.content.decode()


def test_htmx_gets_the_live_partial_and_a_filter_change_moves_the_url(
    signed_in: Client, project: Project
) -> None:
    showcase_project(project)
    response = signed_in.get("/?status=down&tag=&q=", HTTP_HX_TRIGGER="dashboard-filters", **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="dashboard-live"')
    assert "<html" not in body
    assert 'hx-get="/?status=down"' in body
    assert response["HX-Push-Url"] == "/?status=down"
    assert rows_of(response) == ["stock-sync"]


def test_a_poll_gets_the_partial_and_leaves_the_url_alone(signed_in: Client, project: Project) -> None:
    showcase_project(project)
    response = signed_in.get("/?tag=prod", HTTP_HX_TRIGGER="dashboard-live", **HTMX)
    assert response.content.decode().lstrip().startswith('<div id="dashboard-live"')
    assert "HX-Push-Url" not in response
    assert len(rows_of(response)) == 3


def test_htmx_history_restore_gets_the_whole_page(signed_in: Client, project: Project) -> None:
    response = signed_in.get("/", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert "<html" in response.content.decode()


def test_polling_is_set_up_to_pause_while_the_tab_is_hidden(signed_in: Client, settings: Settings) -> None:
    settings.DASHBOARD_REFRESH_SECONDS = 7
    page = signed_in.get("/").content.decode()
    assert 'hx-trigger="every 7s [!document.hidden]' in page


def test_an_empty_project_shows_a_working_first_ping_line(
    signed_in: Client, project: Project, settings: Settings
) -> None:
    settings.SITE_URL = "https://vigil.example.com"
    page = signed_in.get("/").content.decode()
    assert "No monitors yet" in page
    assert (
        f"curl -fsS -m 10 --retry 5 &quot;https://vigil.example.com/ping/{project.ping_key}/my-first-job?create=1&quot;"
        in page
    )
    assert 'class="summary"' not in page
    assert 'id="dashboard-filters"' not in page


def test_a_project_in_the_url_becomes_the_current_one(client: Client, project: Project) -> None:
    other = ProjectFactory.create(name="Second")
    user = member(project)
    Membership.objects.create(project=other, user=user)
    client.force_login(user)
    assert client.get("/").context["access"].project == project
    assert client.get(f"/projects/{other.id}/").context["access"].project == other
    assert client.get("/").context["access"].project == other


def test_another_projects_dashboard_is_not_found(signed_in: Client, strangers_monitor: Monitor) -> None:
    assert signed_in.get(f"/projects/{strangers_monitor.project_id}/").status_code == 404
    assert signed_in.get(f"/projects/{2**63}/").status_code == 404


def test_someone_with_no_project_is_offered_to_create_one(client: Client, db: None) -> None:
    from tests.factories import UserFactory

    client.force_login(UserFactory.create())
    response = client.get("/")
    assert response.status_code == 200
    assert "Create your first project" in response.content.decode()


def test_only_reads_are_allowed(signed_in: Client) -> None:
    assert signed_in.post("/").status_code == 405


def build(project: Project, count: int) -> None:
    for index in range(count):
        monitor = MonitorFactory.create(project=project, tags=["t"] if index % 2 else [])
        for run_index in range(3):
            make_run(monitor, status="failed" if run_index == 1 else "success", duration_ms=1000)


def dashboard_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_the_number_of_monitors(
    signed_in: Client, project: Project
) -> None:
    build(project, 5)
    signed_in.get("/")  # the session's current project is stored once
    with_five = dashboard_queries(signed_in)
    build(project, 195)
    with_two_hundred = dashboard_queries(signed_in)
    assert len(rows_of(signed_in.get("/"))) == 200
    assert with_five == with_two_hundred


def test_names_slugs_and_tags_are_escaped_in_the_rows(signed_in: Client, project: Project) -> None:
    MonitorFactory.create(project=project, name='<script>alert("x")</script>', tags=['"><img src=x>', "a&b"])
    page = signed_in.get("/").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<img src=x>" not in page
    assert 'href="?tag=%22%3E%3Cimg%20src%3Dx%3E">&quot;&gt;&lt;img src=x&gt;</a>' in page
    assert 'href="?tag=a%26b">a&amp;b</a>' in page


def test_a_flapping_monitor_says_so_in_its_row_and_a_steady_one_does_not(
    signed_in: Client, project: Project
) -> None:
    """A crash-looping job: its alerts are held, and the dashboard says why none arrive."""
    looping = MonitorFactory.create(project=project, slug="crash-looping", interval_seconds=86400)
    steady = MonitorFactory.create(project=project, slug="steady", interval_seconds=86400)
    for suffix in ("/fail", "", "/fail", "", "/fail", ""):
        assert signed_in.post(f"/ping/{looping.ping_uuid}{suffix}").status_code == 200
    assert signed_in.post(f"/ping/{steady.ping_uuid}").status_code == 200
    looping.refresh_from_db()
    assert looping.flapping
    page = signed_in.get("/").content.decode()
    row = re.search(rf'<tr id="monitor-{looping.id}".*?</tr>', page)
    assert row is not None
    assert 'class="chip warn flapping"' in row.group()
    steady_row = re.search(rf'<tr id="monitor-{steady.id}".*?</tr>', page)
    assert steady_row is not None
    assert "flapping" not in steady_row.group()
