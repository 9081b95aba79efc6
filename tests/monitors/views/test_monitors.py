"""The monitor page at /monitors/<id>/ (the link every notification carries), its live
partials, its run history, and the actions on it: pause, resume, acknowledge, delete."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.models import Incident
from alerts.payloads import monitor_url
from monitors.models import Membership, Monitor, MonitorStatus, Project, ScheduleKind
from monitors.roles import Role
from monitors.services import monitor_pause
from pings.models import Run
from pings.selectors import HISTORY_PAGE
from tests.api.builders import make_attempt, make_channel, make_incident, make_notification, make_run
from tests.factories import MonitorFactory
from tests.showcase import SHOWCASE_DAYS, showcase_monitor

pytestmark = pytest.mark.django_db
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


def detail(monitor: Monitor) -> str:
    return reverse("monitor-detail", args=[monitor.id])


def run_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr id="run-(\d+)" class="run">', html)]


def cannot_change(project: Project) -> None:
    """The signed-in user (the project's one member) becomes a viewer."""
    Membership.objects.filter(project=project).update(role=Role.VIEWER)


# ---- who may see it


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/monitors/{id}/"),
        ("get", "/monitors/{id}/runs/{run}/"),
        ("post", "/monitors/{id}/pause/"),
        ("post", "/monitors/{id}/resume/"),
        ("get", "/monitors/{id}/delete/"),
        ("post", "/monitors/{id}/delete/"),
        ("post", "/monitors/{id}/incidents/{incident}/acknowledge/"),
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(
    client: Client, monitor: Monitor, method: str, path: str
) -> None:
    incident = make_incident(monitor)
    url = path.format(id=monitor.id, run=make_run(monitor).id, incident=incident.id)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"
    monitor.refresh_from_db()
    assert not monitor.paused
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/monitors/{id}/"),
        ("get", "/monitors/{id}/runs/{run}/"),
        ("post", "/monitors/{id}/pause/"),
        ("post", "/monitors/{id}/resume/"),
        ("get", "/monitors/{id}/delete/"),
        ("post", "/monitors/{id}/delete/"),
        ("post", "/monitors/{id}/incidents/{incident}/acknowledge/"),
    ],
)
def test_another_projects_monitor_is_not_found_and_nothing_changes(
    signed_in: Client, strangers_monitor: Monitor, method: str, path: str
) -> None:
    incident = make_incident(strangers_monitor)
    url = path.format(id=strangers_monitor.id, run=make_run(strangers_monitor).id, incident=incident.id)
    response = getattr(signed_in, method)(url)
    assert response.status_code == 404
    assert "Their job" not in response.content.decode()
    assert Monitor.objects.filter(id=strangers_monitor.id, paused=False).exists()
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


@pytest.mark.parametrize("monitor_id", ["missing", "huge"])
def test_missing_monitors_are_not_found(
    signed_in: Client, strangers_monitor: Monitor, monitor_id: str
) -> None:
    number = {"missing": strangers_monitor.id + 1000, "huge": 2**64}[monitor_id]
    assert signed_in.get(f"/monitors/{number}/").status_code == 404


def test_a_run_or_incident_of_another_monitor_is_not_found(signed_in: Client, project: Project) -> None:
    mine, other = MonitorFactory.create(project=project), MonitorFactory.create(project=project)
    run, incident = make_run(other), make_incident(other)
    assert signed_in.get(f"/monitors/{mine.id}/runs/{run.id}/").status_code == 404
    assert signed_in.get(f"/monitors/{mine.id}/runs/{2**63}/").status_code == 404
    assert signed_in.post(f"/monitors/{mine.id}/incidents/{incident.id}/acknowledge/").status_code == 404
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_the_alert_link_opens_the_monitor_page(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project, name="Nightly backup", interval_seconds=300)
    path = monitor_url(monitor).split("://", 1)[1].split("/", 1)[1]
    assert f"/{path}" == detail(monitor)
    response = signed_in.get(f"/{path}")
    assert response.context["access"].project == project
    page = response.content.decode()
    assert "Nightly backup" in page
    assert monitor.ping_url in page
    assert "every 5 minutes" in page
    assert '<span class="status status-new">new</span>' in page


# ---- what it shows


def test_the_page_shows_history_figures_chart_incidents_and_set_up(
    signed_in: Client, project: Project
) -> None:
    monitor = showcase_monitor(project)
    response = signed_in.get(detail(monitor))
    assert response.status_code == 200
    page = response.content.decode()
    # Status, description, the runbook as a link.
    assert '<span class="status status-down">down</span>' in page
    assert "Dumps the orders database to S3." in page
    assert 'href="https://wiki.example.com/runbooks/db-backup"' in page
    # The newest page of runs, newest first, with metadata chips, the log's size and truncation.
    runs = list(monitor.runs.order_by("-id"))
    assert run_ids(page) == [run.id for run in runs[:HISTORY_PAGE]]
    assert '<span class="key">target</span> s3://backups/orders' in page
    assert f'href="/monitors/{monitor.id}/runs/{runs[0].id}/"' in page
    assert 'title="Only the end of a longer log was kept">truncated</span>' in page
    assert f'?before={runs[HISTORY_PAGE - 1].id}#runs"' in page
    # The figures are the API's.
    stats = response.context["stats"]
    assert stats.success_rate["30d"] == pytest.approx(26 / 29, abs=1e-4)
    assert "89.7 %" in page
    assert f'href="/monitors/{monitor.id}/runs/{runs[0].id}/"' in page  # the last failure
    # The chart: every finished run a point, median and p95 lines.
    assert page.count('class="pt pt-') == SHOWCASE_DAYS
    assert page.count('class="pt pt-failed"') == 4
    assert 'class="level-p50"' in page
    assert 'class="level-p95"' in page
    # The incident timeline with every delivery attempt.
    assert "exit status 1: backup failed after 1 attempt(s)" in page
    assert "also: run did not finish in time" in page
    assert "HTTP 503 from receiver" in page
    assert "SMTP: Connection refused (mail.example.com:587)" in page
    assert page.count('<span class="status status-down">open</span>') == 1
    assert page.count('<span class="status status-up">resolved</span>') == 1
    # Set-up: the ping URL, snippets, the schedule in words and five due times in its zone.
    assert "curl -fsS -m 10 --retry 5 --data-binary @- &quot;" in page
    assert f"vigil run --url &quot;{monitor.ping_url}&quot; -- /path/to/job.sh" in page
    assert f"@monitor(url=&quot;{monitor.ping_url}&quot;)" in page
    assert "03:00 daily, Europe/Berlin" in page
    due = response.context["due_times"]
    assert len(due) == 5
    assert due == sorted(set(due))
    assert all(moment.astimezone(ZoneInfo("Europe/Berlin")).hour == 3 for moment in due)
    assert page.count("03:00 CET</time>") + page.count("03:00 CEST</time>") == 5


def test_an_empty_monitor_says_how_to_start(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project)
    page = signed_in.get(detail(monitor)).content.decode()
    assert "No runs yet." in page
    assert "No incidents" in page
    assert "no runs yet" in page  # the tick strip
    # Before the first ping, how to send one takes the place of the (empty) figures and chart.
    assert "Report your job's runs" in page
    assert page.count('<code id="snippet-') == 5
    assert "Duration over time" not in page


def test_a_paused_monitor_offers_resume_and_lists_no_due_times(signed_in: Client, project: Project) -> None:
    monitor = monitor_pause(monitor=MonitorFactory.create(project=project))
    response = signed_in.get(detail(monitor))
    assert response.context["due_times"] == []
    page = response.content.decode()
    assert ">Resume</button>" in page
    assert "Pause…" not in page
    assert "until resumed" in page


def test_an_interval_monitors_due_times_start_at_its_awaited_time(
    signed_in: Client, project: Project
) -> None:
    monitor = MonitorFactory.create(project=project, interval_seconds=600)
    assert monitor.next_due_at is not None
    due = signed_in.get(detail(monitor)).context["due_times"]
    assert due == [monitor.next_due_at + timedelta(seconds=600 * step) for step in range(5)]


def test_a_runbook_that_is_not_http_is_not_a_link(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project, runbook_url="javascript:alert(1)")
    page = signed_in.get(detail(monitor)).content.decode()
    assert "javascript:alert(1)" not in page


def test_user_text_is_escaped(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project, name="<b>bold</b>", description="<script>x</script>")
    make_run(monitor, meta={"<i>k</i>": "<img src=x>"}, log="<script>log</script>")
    page = signed_in.get(detail(monitor)).content.decode()
    assert "<b>bold</b>" not in page
    assert "<script>x</script>" not in page
    assert "<img src=x>" not in page
    assert "&lt;img src=x&gt;" in page


# ---- live partials and the history


def test_the_live_poll_gets_only_the_status_panel(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project)
    make_run(monitor, status="failed")
    response = signed_in.get(detail(monitor), HTTP_HX_TARGET="monitor-live", **HTMX)
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="monitor-live"')
    assert 'aria-label="Last run: 1 failed"' in page
    assert "<html" not in page
    assert 'hx-trigger="every 5s [!document.hidden]' in page


def test_the_history_poll_gets_only_the_history_and_keeps_the_filter(
    signed_in: Client, project: Project
) -> None:
    monitor = MonitorFactory.create(project=project)
    runs = [make_run(monitor, status="failed" if index % 2 else "success") for index in range(6)]
    response = signed_in.get(f"{detail(monitor)}?status=failed", HTTP_HX_TARGET="history", **HTMX)
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="history"')
    assert run_ids(page) == [run.id for run in reversed(runs) if run.status == "failed"]
    # The first page polls, with its filter.
    assert f'hx-get="{detail(monitor)}?status=failed"' in page


def test_the_history_pages_by_run_id_and_deeper_pages_do_not_poll(
    signed_in: Client, project: Project
) -> None:
    monitor = MonitorFactory.create(project=project)
    runs = [make_run(monitor) for _ in range(HISTORY_PAGE + 3)]
    first = signed_in.get(detail(monitor)).content.decode()
    assert run_ids(first) == [run.id for run in reversed(runs)][:HISTORY_PAGE]
    older = runs[3].id
    page = signed_in.get(
        f"{detail(monitor)}?before={older}", HTTP_HX_TARGET="history", **HTMX
    ).content.decode()
    assert run_ids(page) == [runs[2].id, runs[1].id, runs[0].id]
    assert "Older runs" not in page
    assert "← Newest runs" in page
    assert "hx-trigger" not in page.split(">", 1)[0]


@pytest.mark.parametrize("query", ["?status=nope", "?before=abc", "?before=0", f"?before={2**64}"])
def test_a_bad_history_filter_says_so_and_shows_the_newest_runs(
    signed_in: Client, project: Project, query: str
) -> None:
    monitor = MonitorFactory.create(project=project)
    run = make_run(monitor)
    response = signed_in.get(detail(monitor) + query)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<ul class="errorlist" role="alert">' in page
    assert run_ids(page) == [run.id]


def test_a_run_page_shows_the_whole_log_and_htmx_gets_only_the_log(
    signed_in: Client, project: Project
) -> None:
    monitor = MonitorFactory.create(project=project)
    run = make_run(monitor, status="failed", exit_code=2, log="line one\nline two", log_truncated=True)
    url = f"/monitors/{monitor.id}/runs/{run.id}/"
    page = signed_in.get(url).content.decode()
    assert "<html" in page
    assert "line one\nline two" in page
    assert "Truncated:" in page
    partial = signed_in.get(url, **HTMX).content.decode()
    assert "<html" not in partial
    assert "line one\nline two" in partial
    assert f'data-clear="log-{run.id}"' in partial


def test_the_query_count_does_not_grow_with_the_history(signed_in: Client, project: Project) -> None:
    monitor = showcase_monitor(project)
    signed_in.get(detail(monitor))  # the session's current project is stored once

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert signed_in.get(detail(monitor)).status_code == 200
        return len(captured)

    before = queries()
    start = timezone.now() - timedelta(days=200)
    Run.objects.bulk_create(
        Run(
            monitor=monitor,
            status="success",
            finished_at=start + timedelta(hours=i),
            duration_ms=1000,
            log="x",
        )
        for i in range(400)
    )
    for day in range(5):
        make_incident(
            monitor, opened_at=start + timedelta(days=day), resolved_at=start + timedelta(days=day, hours=1)
        )
    assert queries() == before


# ---- actions


def test_pause_until_a_local_time_and_resume(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project)
    until = (
        (timezone.now() + timedelta(days=1))
        .astimezone(ZoneInfo("America/New_York"))
        .replace(second=0, microsecond=0, tzinfo=None)
    )
    response = signed_in.post(
        f"/monitors/{monitor.id}/pause/", {"until": f"{until:%Y-%m-%dT%H:%M}", "zone": "America/New_York"}
    )
    assert response.status_code == 302
    assert response["Location"] == detail(monitor)
    monitor.refresh_from_db()
    assert monitor.paused
    assert monitor.status == MonitorStatus.PAUSED
    assert monitor.paused_until == until.replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    assert "Paused until the time set." in signed_in.get(detail(monitor)).content.decode()

    response = signed_in.post(f"/monitors/{monitor.id}/resume/")
    assert response.status_code == 302
    monitor.refresh_from_db()
    assert not monitor.paused
    assert monitor.paused_until is None


def test_pause_without_a_time_and_without_javascript_means_utc(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project)
    assert signed_in.post(f"/monitors/{monitor.id}/pause/", {"until": ""}).status_code == 302
    monitor.refresh_from_db()
    assert monitor.paused
    assert monitor.paused_until is None
    later = monitor_at_utc = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)
    signed_in.post(f"/monitors/{monitor.id}/resume/")
    signed_in.post(f"/monitors/{monitor.id}/pause/", {"until": f"{later:%Y-%m-%dT%H:%M}"})
    monitor.refresh_from_db()
    assert monitor.paused_until == monitor_at_utc


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"until": "2020-01-01T10:00", "zone": "UTC"}, "Must be in the future."),
        ({"until": "next tuesday", "zone": "UTC"}, "Enter a date and time, e.g. 2026-03-01 18:30."),
        ({"until": "2099-01-01T10:00", "zone": "Mars/Olympus"}, "Unknown time zone &#x27;Mars/Olympus&#x27;"),
    ],
)
def test_bad_pause_input_is_an_error_next_to_its_field_and_changes_nothing(
    signed_in: Client, project: Project, data: dict[str, str], error: str
) -> None:
    monitor = MonitorFactory.create(project=project)
    revision = monitor.revision
    response = signed_in.post(f"/monitors/{monitor.id}/pause/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert error in page
    assert '<details class="menu" open>' in page
    monitor.refresh_from_db()
    assert not monitor.paused
    assert monitor.revision == revision


def test_bad_pause_input_through_htmx_answers_the_form_with_its_error(
    signed_in: Client, project: Project
) -> None:
    monitor = MonitorFactory.create(project=project)
    response = signed_in.post(f"/monitors/{monitor.id}/pause/", {"until": "2020-01-01T10:00"}, **HTMX)
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="monitor-controls" class="controls" hx-swap-oob="true">')
    assert '<ul class="errorlist" id="id_until_error"><li>Must be in the future.</li></ul>' in page
    monitor.refresh_from_db()
    assert not monitor.paused


def test_an_action_through_htmx_answers_the_parts_it_changed(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project)
    response = signed_in.post(f"/monitors/{monitor.id}/pause/", {}, **HTMX)
    page = response.content.decode()
    assert "<html" not in page
    for part in ("monitor-controls", "monitor-live", "monitor-incidents"):
        assert re.search(rf'<[a-z]+ id="{part}"[^>]*hx-swap-oob="true"', page), part
    assert '<span class="status status-paused">paused</span>' in page
    assert ">Resume</button>" in page


def test_acknowledge_the_open_incident(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project)
    incident = make_incident(monitor, kind="failed")
    page = signed_in.get(detail(monitor)).content.decode()
    assert f'action="/monitors/{monitor.id}/incidents/{incident.id}/acknowledge/"' in page
    response = signed_in.post(f"/monitors/{monitor.id}/incidents/{incident.id}/acknowledge/", **HTMX)
    assert "acknowledged" in response.content.decode()
    incident.refresh_from_db()
    assert incident.acknowledged_at is not None
    assert "Acknowledge</button>" not in signed_in.get(detail(monitor)).content.decode()


def test_delete_asks_first_then_deletes_everything(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project, name="Old job")
    make_run(monitor)
    make_incident(monitor)
    confirm = signed_in.get(f"/monitors/{monitor.id}/delete/").content.decode()
    assert "Delete this monitor?" in confirm
    assert "1 run and 1 incident" in confirm
    assert Monitor.objects.filter(id=monitor.id).exists()
    response = signed_in.post(f"/monitors/{monitor.id}/delete/")
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.id}/"
    assert not Monitor.objects.filter(id=monitor.id).exists()
    assert not Run.objects.filter(monitor_id=monitor.id).exists()
    assert not Incident.objects.filter(monitor_id=monitor.id).exists()
    assert "Monitor “Old job” deleted." in signed_in.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "pause/"),
        ("post", "resume/"),
        ("get", "delete/"),
        ("post", "delete/"),
        ("post", "incidents/{incident}/acknowledge/"),
    ],
)
def test_someone_who_may_not_change_gets_403_and_nothing_changes(
    signed_in: Client, project: Project, method: str, path: str
) -> None:
    monitor = MonitorFactory.create(project=project, paused=True)
    incident = make_incident(monitor)
    cannot_change(project)
    url = f"/monitors/{monitor.id}/" + path.format(incident=incident.id)
    response = getattr(signed_in, method)(url)
    assert response.status_code == 403
    assert "As viewer of this project you may not change monitors" in response.content.decode()
    monitor.refresh_from_db()
    assert monitor.paused
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_a_viewer_sees_the_page_without_controls_or_secrets(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project)
    make_incident(monitor)
    cannot_change(project)
    page = signed_in.get(detail(monitor)).content.decode()
    assert monitor.ping_url not in page
    for control in ("Pause…", "Delete…", "Acknowledge</button>", "Ready snippets", "Report your job"):
        assert control not in page
    assert "No finished run with a duration yet." in page


def test_actions_refuse_get_and_need_csrf(project: Project, user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    monitor = MonitorFactory.create(project=project)
    assert client.get(f"/monitors/{monitor.id}/pause/").status_code == 405
    assert client.post(f"/monitors/{monitor.id}/pause/").status_code == 403
    monitor.refresh_from_db()
    assert not monitor.paused


def test_deliveries_show_each_attempt(signed_in: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project, schedule_kind=ScheduleKind.INTERVAL)
    channel = make_channel(project, name="Pager hook")
    incident = make_incident(monitor, kind="missed", detail="no ping since 03:00")
    notification = make_notification(incident, channel, status="failed", attempt_count=2)
    make_attempt(notification, status_code=500, error="HTTP 500", latency_ms=40)
    make_attempt(notification, after_seconds=60, error="timed out after 10 s", latency_ms=10000)
    page = signed_in.get(detail(monitor)).content.decode()
    assert "Pager hook" in page
    assert '<span class="delivery delivery-failed">failed</span>' in page
    assert "HTTP 500" in page
    assert "timed out after 10 s" in page
    assert "no answer" in page
