"""Healthchecks' per-monitor ping options through real pings (CONTRACT §3): body keywords,
POST-only monitors, resume on ping. Runs on SQLite and on PostgreSQL (both ping paths)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from monitors.models import Monitor, MonitorStatus, PingMethods, Project
from monitors.services import monitor_pause
from pings.models import Ping, PingKind, Run, RunStatus
from tests.conftest import results
from tests.factories import MonitorFactory, member

pytestmark = pytest.mark.django_db

HC_KEYWORDS = {"success": ["Backup complete"], "failure": ["ERROR"], "start": ["starting"]}


def url(monitor: Monitor, suffix: str = "") -> str:
    return f"/ping/{monitor.ping_uuid}{suffix}"


def last_ping(monitor: Monitor) -> Ping:
    ping = Ping.objects.filter(monitor=monitor).order_by("-id").first()
    assert ping is not None
    return ping


def run_statuses(monitor: Monitor) -> list[str]:
    return list(Run.objects.filter(monitor=monitor).order_by("id").values_list("status", flat=True))


# --- body keywords ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind", "runs", "status"),
    [
        ("backup COMPLETE in 3 minutes", PingKind.SUCCESS, [RunStatus.SUCCESS], MonitorStatus.UP),
        ("disk full: error writing", PingKind.FAIL, [RunStatus.FAILED], MonitorStatus.DOWN),
        ("STARTING the nightly backup", PingKind.START, [RunStatus.RUNNING], MonitorStatus.RUNNING),
    ],
)
def test_a_keyword_decides_what_a_success_ping_counts_as_whatever_its_case(
    client: Client, project: Project, body: str, kind: PingKind, runs: list[str], status: str
) -> None:
    monitor = MonitorFactory.create(project=project, keywords=HC_KEYWORDS)
    response = client.post(url(monitor), body, content_type="text/plain")
    assert response.status_code == 200
    assert last_ping(monitor).kind == kind
    assert run_statuses(monitor) == runs
    monitor.refresh_from_db()
    assert monitor.status == status


def test_a_failure_keyword_fails_an_exit_status_0_and_the_ping_says_why(
    client: Client, project: Project
) -> None:
    monitor = MonitorFactory.create(project=project, keywords={"failure": ["Traceback"]})
    client.post(url(monitor, "/0"), "Traceback (most recent call last):", content_type="text/plain")
    ping = last_ping(monitor)
    assert (ping.kind, ping.note) == (PingKind.FAIL, "a failure keyword in the body")
    assert run_statuses(monitor) == [RunStatus.FAILED]


def test_with_success_keywords_a_body_holding_none_is_ignored_and_changes_nothing(
    client: Client, project: Project
) -> None:
    monitor = MonitorFactory.create(project=project, keywords=HC_KEYWORDS)
    before = Monitor.objects.get(id=monitor.id)
    assert client.post(url(monitor), "all quiet", content_type="text/plain").status_code == 200
    ping = last_ping(monitor)
    assert ping.kind == PingKind.IGNORED
    assert ping.note == "no success, failure or start keyword in the body"
    assert ping.body == "all quiet"  # kept, so the reason can be checked
    assert run_statuses(monitor) == []
    after = Monitor.objects.get(id=monitor.id)
    assert (after.status, after.last_ping_at, after.next_due_at) == (
        before.status,
        before.last_ping_at,
        before.next_due_at,
    )


def test_without_success_keywords_an_unmatched_body_is_still_a_success(
    client: Client, project: Project
) -> None:
    monitor = MonitorFactory.create(project=project, keywords={"failure": ["error"]})
    client.post(url(monitor), "all quiet", content_type="text/plain")
    assert last_ping(monitor).kind == PingKind.SUCCESS
    assert run_statuses(monitor) == [RunStatus.SUCCESS]


def test_keywords_read_the_log_of_a_json_envelope(client: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project, keywords=HC_KEYWORDS)
    client.post(
        url(monitor), {"meta": {"rows": 3}, "log": "an ERROR occurred"}, content_type="application/json"
    )
    assert run_statuses(monitor) == [RunStatus.FAILED]


# --- POST-only monitors ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "head"])
def test_get_and_head_to_a_post_only_monitor_are_answered_and_ignored(
    client: Client, api: APIClient, project: Project, method: str
) -> None:
    monitor = MonitorFactory.create(project=project, methods=PingMethods.POST)
    response = getattr(client, method)(url(monitor))
    assert response.status_code == 200
    assert run_statuses(monitor) == []
    monitor.refresh_from_db()
    assert (monitor.status, monitor.last_ping_at) == (MonitorStatus.NEW, None)
    listed = results(api.get(f"/api/v1/monitors/{monitor.id}/pings/"))
    assert [(p["kind"], p["method"], p["note"]) for p in listed] == [
        ("ignored", method.upper(), f"{method.upper()} to a POST-only monitor")
    ]


def test_a_post_to_a_post_only_monitor_counts(client: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project, methods=PingMethods.POST)
    client.post(url(monitor, "/fail"))
    client.put(url(monitor))
    assert run_statuses(monitor) == [RunStatus.FAILED, RunStatus.SUCCESS]
    assert last_ping(monitor).note == ""


def test_a_log_ping_by_get_to_a_post_only_monitor_is_ignored_too(client: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project, methods=PingMethods.POST)
    client.get(url(monitor, "/log"))
    assert last_ping(monitor).kind == PingKind.IGNORED


def test_the_monitor_page_shows_ignored_pings_as_ignored(client: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project, methods=PingMethods.POST)
    client.get(url(monitor))
    client.force_login(member(project))
    page = client.get(f"/monitors/{monitor.id}/").content.decode()
    assert "ignored: GET to a POST-only monitor" in page


# --- resume on ping --------------------------------------------------------------------------


@pytest.mark.parametrize(("resume_on_ping", "resumed"), [(True, True), (False, False)])
def test_a_ping_resumes_a_paused_monitor_only_with_resume_on_ping(
    client: Client, project: Project, resume_on_ping: bool, resumed: bool
) -> None:
    monitor = MonitorFactory.create(project=project, resume_on_ping=resume_on_ping)
    monitor_pause(monitor=monitor, now=timezone.now() - timedelta(minutes=5))
    client.post(url(monitor, "/fail"))
    monitor.refresh_from_db()
    assert monitor.paused is not resumed
    # Resumed, the failure counts at once; still paused, it is recorded and never judged.
    assert monitor.status == (MonitorStatus.DOWN if resumed else MonitorStatus.PAUSED)
    assert run_statuses(monitor) == [RunStatus.FAILED]


def test_an_ignored_ping_does_not_resume(client: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project, resume_on_ping=True, methods=PingMethods.POST)
    monitor_pause(monitor=monitor)
    client.get(url(monitor))
    monitor.refresh_from_db()
    assert monitor.paused
