"""`/status/<status_key>/`: one URL an uptime checker polls for a project or a tag (CONTRACT §5).

Monitors change state the way they do in production: real pings, the real sweeper, time moved
by time_machine.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from monitors.api_keys import api_key_create
from monitors.models import Monitor, MonitorStatus, Project
from tests.api.timeline import LATE_AT, MISSED_AT, make_monitor, ping, run_sweeper
from tests.clock import Clock
from tests.conftest import make_client
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def status(client: Client, project: Project, query: str = "") -> tuple[int, dict[str, Any]]:
    response = client.get(f"/status/{project.status_key}/{query}")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def entry(monitor: Monitor, state: str) -> dict[str, Any]:
    monitor.refresh_from_db()
    return {
        "slug": monitor.slug,
        "name": monitor.name,
        "status": state,
        "last_ping_at": iso(monitor.last_ping_at),
        "next_due_at": iso(monitor.next_due_at),
        "last_duration_ms": monitor.last_duration_ms,
    }


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def up_body(monitor: Monitor, state: str) -> dict[str, Any]:
    return {"status": "up", "monitors": [entry(monitor, state)], "failing": []}


# --- body and transitions --------------------------------------------------------------------


def test_body_is_exactly_status_monitors_and_failing(client: Client, project: Project, clock: Clock) -> None:
    backup = make_monitor(project, name="Backup", slug="backup")
    cleanup = make_monitor(project, name="Cleanup", slug="cleanup")
    assert status(client, project) == (
        200,
        {"status": "up", "monitors": [entry(backup, "new"), entry(cleanup, "new")], "failing": []},
    )


def test_a_missed_job_is_503_until_its_next_success(client: Client, project: Project, clock: Clock) -> None:
    monitor = make_monitor(project, name="Backup", slug="backup")
    clock.at(LATE_AT)
    run_sweeper()
    assert status(client, project) == (
        200,
        {"status": "up", "monitors": [entry(monitor, "late")], "failing": []},
    )
    clock.at(MISSED_AT)
    run_sweeper()
    assert status(client, project) == (
        503,
        {"status": "down", "monitors": [entry(monitor, "down")], "failing": ["backup"]},
    )
    clock.at(MISSED_AT + 5)
    ping(client, monitor)
    assert status(client, project) == (
        200,
        {"status": "up", "monitors": [entry(monitor, "up")], "failing": []},
    )


@pytest.mark.parametrize("suffix", ["/fail", "/1", "/255"])
def test_a_failed_run_is_503_until_a_good_run(
    client: Client, project: Project, clock: Clock, suffix: str
) -> None:
    monitor = make_monitor(project, slug="backup")
    clock.at(5)
    ping(client, monitor, "/start")
    assert status(client, project) == (200, up_body(monitor, "running"))
    clock.at(10)
    ping(client, monitor, suffix)
    assert status(client, project) == (
        503,
        {"status": "down", "monitors": [entry(monitor, "down")], "failing": ["backup"]},
    )
    # A run in progress does not lift the incident: it stays down until a good finish.
    clock.at(20)
    ping(client, monitor, "/start")
    assert status(client, project)[0] == 503
    clock.at(30)
    ping(client, monitor)
    assert status(client, project) == (200, up_body(monitor, "up"))


def test_a_zero_exit_code_is_a_success(client: Client, project: Project, clock: Clock) -> None:
    monitor = make_monitor(project)
    clock.at(10)
    ping(client, monitor, "/0")
    assert status(client, project) == (200, up_body(monitor, "up"))


def test_log_pings_change_nothing(client: Client, project: Project, clock: Clock) -> None:
    monitor = make_monitor(project)
    clock.at(MISSED_AT)
    run_sweeper()
    ping(client, monitor, "/log")
    assert status(client, project)[0] == 503


def test_only_down_monitors_fail_the_status(client: Client, project: Project, clock: Clock) -> None:
    late = make_monitor(project, name="a late")
    clock.at(LATE_AT)
    new = make_monitor(project, name="b new")
    up = make_monitor(project, name="c up")
    ping(client, up)
    running = make_monitor(project, name="d running")
    ping(client, running, "/start")
    paused = make_monitor(project, name="e paused")
    assert make_client(project).post(f"/api/v1/monitors/{paused.id}/pause/").status_code == 200
    run_sweeper()
    every_healthy_state = [
        entry(late, "late"),
        entry(new, "new"),
        entry(up, "up"),
        entry(running, "running"),
        entry(paused, "paused"),
    ]
    assert status(client, project) == (200, {"status": "up", "monitors": every_healthy_state, "failing": []})

    failed = make_monitor(project, name="f failed")
    ping(client, failed, "/fail")
    every_state = [*every_healthy_state, entry(failed, "down")]
    assert status(client, project) == (
        503,
        {"status": "down", "monitors": every_state, "failing": [failed.slug]},
    )


def test_failing_lists_every_down_monitor_in_name_order(
    client: Client, project: Project, clock: Clock
) -> None:
    second = make_monitor(project, name="Zeta", slug="zeta")
    first = make_monitor(project, name="Alpha", slug="alpha")
    make_monitor(project, name="Mid", slug="mid")
    clock.at(10)
    ping(client, second, "/fail")
    ping(client, first, "/fail")
    code, body = status(client, project)
    assert (code, body["failing"]) == (503, ["alpha", "zeta"])
    assert [item["slug"] for item in body["monitors"]] == ["alpha", "mid", "zeta"]


def test_pausing_a_down_monitor_clears_it_and_resuming_brings_it_back(
    client: Client, project: Project, clock: Clock
) -> None:
    monitor = make_monitor(project)
    api = make_client(project)
    clock.at(10)
    ping(client, monitor, "/fail")
    assert api.post(f"/api/v1/monitors/{monitor.id}/pause/").status_code == 200
    assert status(client, project) == (200, up_body(monitor, "paused"))
    assert api.post(f"/api/v1/monitors/{monitor.id}/resume/").status_code == 200
    # The incident never closed, so the monitor is down again.
    assert status(client, project)[0] == 503
    clock.at(20)
    ping(client, monitor)
    assert status(client, project) == (200, up_body(monitor, "up"))


def test_a_project_without_monitors_is_up(client: Client, project: Project) -> None:
    assert status(client, project) == (200, {"status": "up", "monitors": [], "failing": []})


# --- ?tag= -----------------------------------------------------------------------------------


def test_tag_narrows_status_to_monitors_carrying_it(client: Client, project: Project, clock: Clock) -> None:
    database = make_monitor(project, name="Database", slug="database", tags=["db", "nightly"])
    web = make_monitor(project, name="Web", slug="web", tags=["web", "nightly"])
    clock.at(10)
    ping(client, database, "/fail")
    ping(client, web)

    assert status(client, project) == (
        503,
        {"status": "down", "monitors": [entry(database, "down"), entry(web, "up")], "failing": ["database"]},
    )
    assert status(client, project, "?tag=web") == (
        200,
        {"status": "up", "monitors": [entry(web, "up")], "failing": []},
    )
    assert status(client, project, "?tag=db") == (
        503,
        {"status": "down", "monitors": [entry(database, "down")], "failing": ["database"]},
    )
    assert status(client, project, "?tag=nightly")[0] == 503

    clock.at(20)
    ping(client, database)
    assert status(client, project, "?tag=db") == (
        200,
        {"status": "up", "monitors": [entry(database, "up")], "failing": []},
    )


def test_tag_match_is_exact(client: Client, project: Project, clock: Clock) -> None:
    database = make_monitor(project, slug="database", tags=["db"])
    replica = make_monitor(project, tags=["db-replica"])
    clock.at(10)
    ping(client, database, "/fail")
    assert status(client, project, "?tag=db-replica") == (200, up_body(replica, "new"))
    assert status(client, project, "?tag=d") == (200, {"status": "up", "monitors": [], "failing": []})
    assert status(client, project, "?tag=DB")[1]["monitors"] == []


def test_non_ascii_tag_narrows(client: Client, project: Project, clock: Clock) -> None:
    tagged = make_monitor(project, tags=["Größe ✓"])
    make_monitor(project, tags=["Grosse"])
    code, body = status(client, project, "?tag=Gr%C3%B6%C3%9Fe%20%E2%9C%93")
    assert (code, body["monitors"]) == (200, [entry(tagged, "new")])


def test_empty_tag_means_the_whole_project(client: Client, project: Project, clock: Clock) -> None:
    make_monitor(project, tags=["db"])
    make_monitor(project)
    assert len(status(client, project, "?tag=")[1]["monitors"]) == 2


# --- keys and isolation ----------------------------------------------------------------------


def test_unknown_status_key_is_404(client: Client, project: Project) -> None:
    response = client.get("/status/not-a-status-key/")
    assert response.status_code == 404
    assert "detail" in response.json()
    assert response["Cache-Control"] == "no-store"


def test_other_project_secrets_are_not_status_keys(client: Client, project: Project) -> None:
    make_monitor(project)
    _, api_key = api_key_create(project=project, name="k")
    for secret in (project.badge_key, project.ping_key, api_key):
        assert client.get(f"/status/{secret}/").status_code == 404, secret


def test_another_projects_monitors_never_appear(client: Client, project: Project, clock: Clock) -> None:
    other = ProjectFactory.create()
    broken = make_monitor(other, slug="shared-slug", tags=["db"])
    mine = make_monitor(project, slug="shared-slug", tags=["db"])
    clock.at(10)
    ping(client, broken, "/fail")
    ping(client, mine)
    assert status(client, project) == (200, up_body(mine, "up"))
    assert status(client, project, "?tag=db") == (200, up_body(mine, "up"))
    assert status(client, other)[0] == 503


# --- HTTP ------------------------------------------------------------------------------------


def test_answers_are_never_cached(client: Client, project: Project, clock: Clock) -> None:
    monitor = make_monitor(project)
    assert client.get(f"/status/{project.status_key}/")["Cache-Control"] == "no-store"
    clock.at(10)
    ping(client, monitor, "/fail")
    response = client.get(f"/status/{project.status_key}/")
    assert response.status_code == 503
    assert response["Cache-Control"] == "no-store"


def test_head_is_answered_and_writes_are_refused(client: Client, project: Project, clock: Clock) -> None:
    monitor = make_monitor(project)
    url = f"/status/{project.status_key}/"
    assert client.head(url).status_code == 200
    clock.at(10)
    ping(client, monitor, "/fail")
    assert client.head(url).status_code == 503
    assert client.post(url).status_code == 405
    assert Monitor.objects.get().status == MonitorStatus.DOWN


def test_entries_say_when_each_job_last_pinged_is_next_due_and_how_long_it_ran(
    client: Client, project: Project, clock: Clock
) -> None:
    make_monitor(project, name="a never pinged", slug="never")
    ran = make_monitor(project, name="b ran", slug="ran")
    clock.at(5)
    ping(client, ran, "/start")
    clock.at(12.25)
    ping(client, ran)
    _, body = status(client, project)
    first, second = body["monitors"]
    assert {key: first[key] for key in ("slug", "last_ping_at", "next_due_at", "last_duration_ms")} == {
        "slug": "never",
        "last_ping_at": None,
        "next_due_at": "2026-03-02T12:01:00Z",
        "last_duration_ms": None,
    }
    assert {key: second[key] for key in ("slug", "last_ping_at", "next_due_at", "last_duration_ms")} == {
        "slug": "ran",
        "last_ping_at": "2026-03-02T12:00:12.250000Z",
        "next_due_at": "2026-03-02T12:01:12.250000Z",
        "last_duration_ms": 7250,
    }
    # The same form as the API's monitor fields.
    api_monitor = make_client(project).get(f"/api/v1/monitors/{ran.id}/").json()
    assert (api_monitor["last_ping_at"], api_monitor["next_due_at"]) == (
        second["last_ping_at"],
        second["next_due_at"],
    )
