"""`/api/v1/monitors/`: list, filters, create, read, update, delete, pause and resume (CONTRACT §4)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from monitors.models import Monitor, MonitorStatus, Project
from tests.api.builders import make_channel
from tests.conftest import make_client, results
from tests.factories import MonitorFactory, ProjectFactory

pytestmark = pytest.mark.django_db

MONITOR_FIELDS = {
    "id",
    "name",
    "slug",
    "description",
    "tags",
    "schedule",
    "grace_seconds",
    "max_duration_seconds",
    "failure_threshold",
    "recovery_threshold",
    "allow_overlap",
    "rules",
    "channels",
    "status",
    "ping_url",
    "last_ping_at",
    "next_due_at",
    "last_duration_ms",
    "resume_on_ping",
    "methods",
    "keywords",
    "runbook_url",
    "notify_every_failures",
    "trigger",
    # Read-only: held notifications while incidents keep opening (issue 15).
    "flapping",
    "pings_refused",
}


def create(api: APIClient, **body: Any) -> Any:
    return api.post("/api/v1/monitors/", body, format="json")


# --- list ------------------------------------------------------------------------------------


def test_list_has_every_contract_field(api: APIClient, monitor: Monitor) -> None:
    [item] = results(api.get("/api/v1/monitors/"))
    assert set(item) == MONITOR_FIELDS
    assert item["id"] == monitor.id
    assert item["ping_url"] == f"{settings.SITE_URL}/ping/{monitor.ping_uuid}"
    assert item["ping_url"].startswith(settings.SITE_URL)
    assert str(monitor.ping_uuid) not in str(item["id"])


def test_list_is_paginated(api: APIClient, project: Project) -> None:
    MonitorFactory.create_batch(53, project=project)
    first = api.get("/api/v1/monitors/").json()
    assert first["count"] == 53
    assert len(first["results"]) == 50
    assert first["previous"] is None
    assert first["next"].endswith("/api/v1/monitors/?page=2")
    second = api.get("/api/v1/monitors/?page=2").json()
    assert len(second["results"]) == 3
    assert second["next"] is None
    seen = {item["id"] for item in first["results"] + second["results"]}
    assert len(seen) == 53


def test_page_past_the_end_is_404(api: APIClient, monitor: Monitor) -> None:
    response = api.get("/api/v1/monitors/?page=9")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_filter_by_tag_is_exact(api: APIClient, project: Project) -> None:
    nightly = MonitorFactory.create(project=project, tags=["nightly", "db"])
    MonitorFactory.create(project=project, tags=["nightly-extra"])
    accented = MonitorFactory.create(project=project, tags=["sauvegarde-é"])
    MonitorFactory.create(project=project, tags=[])
    assert [item["id"] for item in results(api.get("/api/v1/monitors/?tag=nightly"))] == [nightly.id]
    assert [item["id"] for item in results(api.get("/api/v1/monitors/?tag=db"))] == [nightly.id]
    assert [item["id"] for item in results(api.get("/api/v1/monitors/?tag=sauvegarde-é"))] == [accented.id]
    assert results(api.get("/api/v1/monitors/?tag=night")) == []


def test_filter_by_status(api: APIClient, project: Project) -> None:
    down = MonitorFactory.create(project=project, status=MonitorStatus.DOWN)
    MonitorFactory.create(project=project, status=MonitorStatus.UP)
    assert [item["id"] for item in results(api.get("/api/v1/monitors/?status=down"))] == [down.id]


def test_unknown_status_filter_is_a_field_error(api: APIClient, monitor: Monitor) -> None:
    response = api.get("/api/v1/monitors/?status=sideways")
    assert response.status_code == 400
    assert "status" in response.json()


def test_search_matches_name_slug_and_description(api: APIClient, project: Project) -> None:
    by_name = MonitorFactory.create(project=project, name="Nightly Backup")
    by_slug = MonitorFactory.create(project=project, slug="backup-s3")
    by_description = MonitorFactory.create(project=project, description="copies the BACKUP offsite")
    MonitorFactory.create(project=project, name="Billing")
    found = {item["id"] for item in results(api.get("/api/v1/monitors/?q=backup"))}
    assert found == {by_name.id, by_slug.id, by_description.id}


def test_list_shows_only_the_keys_project(api: APIClient, monitor: Monitor) -> None:
    MonitorFactory.create(project=ProjectFactory.create())
    assert [item["id"] for item in results(api.get("/api/v1/monitors/"))] == [monitor.id]


# --- create ----------------------------------------------------------------------------------


def test_create_interval_monitor(api: APIClient, project: Project) -> None:
    response = create(
        api,
        name="Backups",
        slug="backups",
        tags=["db"],
        schedule={"kind": "interval", "seconds": 60},
        grace_seconds=0,
        max_duration_seconds=30,
        failure_threshold=2,
        recovery_threshold=3,
        allow_overlap=True,
        rules=[{"field": "records_processed", "op": "lt", "value": 1}],
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["schedule"] == {"kind": "interval", "seconds": 60}
    assert body["status"] == "new"
    assert body["tags"] == ["db"]
    assert body["rules"] == [{"field": "records_processed", "op": "lt", "value": 1}]
    assert body["next_due_at"] is not None
    monitor = Monitor.objects.get(id=body["id"])
    assert monitor.project == project
    assert (monitor.grace_seconds, monitor.max_duration_seconds) == (0, 30)
    assert (monitor.failure_threshold, monitor.recovery_threshold, monitor.allow_overlap) == (2, 3, True)


def test_create_cron_monitor(api: APIClient) -> None:
    schedule = {"kind": "cron", "expression": "0 3 * * *", "timezone": "Europe/Berlin"}
    response = create(api, name="Nightly", schedule=schedule)
    assert response.status_code == 201, response.json()
    assert response.json()["schedule"] == schedule


def test_create_derives_the_slug_from_the_name(api: APIClient) -> None:
    response = create(api, name="Nightly DB Backup")
    assert response.status_code == 201
    assert response.json()["slug"] == "nightly-db-backup"


def test_create_without_channels_gets_every_project_channel(api: APIClient, project: Project) -> None:
    first, second = make_channel(project), make_channel(project)
    assert create(api, name="All").json()["channels"] == [first.id, second.id]
    assert create(api, name="One", channels=[second.id]).json()["channels"] == [second.id]
    assert create(api, name="None", channels=[]).json()["channels"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "schedule": {"kind": "cron", "expression": "61 * * * *"}}, "schedule"),
        (
            {"name": "x", "schedule": {"kind": "cron", "expression": "0 3 * * *", "timezone": "Mars/Base"}},
            "schedule",
        ),
        ({"name": "x", "schedule": {"kind": "interval", "seconds": 0}}, "schedule"),
        ({"name": "x", "schedule": {"kind": "weekly"}}, "schedule"),
        ({"name": "x", "grace_seconds": -1}, "grace_seconds"),
        ({"name": "x", "failure_threshold": 0}, "failure_threshold"),
        ({"name": "x", "rules": [{"field": "n", "op": "approx", "value": 1}]}, "rules"),
        ({"name": "x", "rules": [{"field": "n", "op": "lt", "value": [1]}]}, "rules"),
        ({"name": "x", "rules": [{"field": "n", "op": "lt", "value": True}]}, "rules"),
        ({"name": "x", "rules": [{"field": "duration_ms", "op": "gt", "value": "slow"}]}, "rules"),
        ({"name": "x", "rules": [{"field": "n\u0000", "op": "eq", "value": 1}]}, "rules"),
        ({"name": "x", "rules": [{"field": 5, "op": "eq", "value": 1}]}, "rules"),
        ({"name": "x", "rules": [{"field": None, "op": "eq", "value": 1}]}, "rules"),
        ({"name": "x", "rules": [{"field": "n", "op": "eq", "value": None}]}, "rules"),
        ({"name": "x", "rules": [{"field": "n", "op": "eq"}]}, "rules"),
        ({"name": "x", "rules": {"field": "n", "op": "eq", "value": 1}}, "rules"),
        ({"name": "x", "schedule": {"kind": "interval", "seconds": 0.5}}, "schedule"),
        ({"name": "x", "slug": "Not A Slug"}, "slug"),
        ({"name": "x", "tags": "db"}, "tags"),
        ({"name": "x", "channels": [999999]}, "channels"),
        ({"name": "x", "channels": [2**63, -(2**70), 0]}, "channels"),
        ({"name": "x", "channels": "all"}, "channels"),
        ({}, "slug"),
    ],
)
def test_invalid_input_is_a_field_error(api: APIClient, body: dict[str, Any], field: str) -> None:
    response = create(api, **body)
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert Monitor.objects.count() == 0


def test_field_errors_say_what_is_wrong(api: APIClient) -> None:
    cron = create(api, name="x", schedule={"kind": "cron", "expression": "nope"}).json()
    assert "invalid cron expression" in cron["schedule"][0]
    zone = create(api, name="x", schedule={"kind": "cron", "expression": "@daily", "timezone": "Nowhere"})
    assert "unknown time zone" in zone.json()["schedule"][0]
    interval = create(api, name="x", schedule={"kind": "interval", "seconds": 0}).json()
    assert "at least 1 second" in interval["schedule"][0]
    rule = create(api, name="x", rules=[{"field": "n", "op": "approx", "value": 1}]).json()
    assert "unknown operator" in rule["rules"][0]


def test_duplicate_slug_is_a_field_error(api: APIClient, monitor: Monitor) -> None:
    response = create(api, name="Again", slug=monitor.slug)
    assert response.status_code == 400
    assert "already exists" in response.json()["slug"][0]


def test_duplicate_derived_slug_is_a_field_error(api: APIClient) -> None:
    assert create(api, name="Backup").status_code == 201
    response = create(api, name="Backup")
    assert response.status_code == 400
    assert "slug" in response.json()


def test_same_slug_in_another_project_is_fine(api: APIClient) -> None:
    MonitorFactory.create(project=ProjectFactory.create(), slug="shared")
    assert create(api, slug="shared").status_code == 201


def test_another_projects_channel_is_unknown(api: APIClient) -> None:
    foreign = make_channel(ProjectFactory.create())
    response = create(api, name="x", channels=[foreign.id])
    assert response.status_code == 400
    assert "channels" in response.json()


# --- read, update, delete --------------------------------------------------------------------


def test_read(api: APIClient, monitor: Monitor) -> None:
    body = api.get(f"/api/v1/monitors/{monitor.id}/").json()
    assert set(body) == MONITOR_FIELDS
    assert body["slug"] == monitor.slug


def test_read_only_key_sees_no_ping_url(read_only_api: APIClient, monitor: Monitor) -> None:
    assert read_only_api.get(f"/api/v1/monitors/{monitor.id}/").json()["ping_url"] is None
    assert results(read_only_api.get("/api/v1/monitors/"))[0]["ping_url"] is None


def test_patch_changes_only_what_it_names(api: APIClient, monitor: Monitor) -> None:
    response = api.patch(
        f"/api/v1/monitors/{monitor.id}/",
        {"description": "nightly", "schedule": {"kind": "interval", "seconds": 120}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    monitor.refresh_from_db()
    assert monitor.description == "nightly"
    assert monitor.interval_seconds == 120
    assert monitor.name == response.json()["name"]


def test_patch_to_a_taken_slug_is_a_field_error(api: APIClient, project: Project, monitor: Monitor) -> None:
    other = MonitorFactory.create(project=project)
    response = api.patch(f"/api/v1/monitors/{monitor.id}/", {"slug": other.slug}, format="json")
    assert response.status_code == 400
    assert "slug" in response.json()


def test_patch_keeping_its_own_slug_is_fine(api: APIClient, monitor: Monitor) -> None:
    response = api.patch(f"/api/v1/monitors/{monitor.id}/", {"slug": monitor.slug}, format="json")
    assert response.status_code == 200


def test_put_is_not_offered(api: APIClient, monitor: Monitor) -> None:
    assert api.put(f"/api/v1/monitors/{monitor.id}/", {"name": "x"}, format="json").status_code == 405


def test_delete(api: APIClient, monitor: Monitor) -> None:
    assert api.delete(f"/api/v1/monitors/{monitor.id}/").status_code == 204
    assert not Monitor.objects.filter(id=monitor.id).exists()
    assert api.get(f"/api/v1/monitors/{monitor.id}/").status_code == 404


# --- pause and resume ------------------------------------------------------------------------


def test_pause_and_resume(api: APIClient, monitor: Monitor) -> None:
    paused = api.post(f"/api/v1/monitors/{monitor.id}/pause/")
    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"
    resumed = api.post(f"/api/v1/monitors/{monitor.id}/resume/")
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "new"


def test_pause_until(api: APIClient, monitor: Monitor) -> None:
    until = timezone.now() + timedelta(hours=2)
    response = api.post(f"/api/v1/monitors/{monitor.id}/pause/", {"until": until.isoformat()}, format="json")
    assert response.status_code == 200
    monitor.refresh_from_db()
    assert monitor.paused
    assert monitor.paused_until == until


@pytest.mark.parametrize("until", ["tomorrow", "2030-01-01T00:00:00", "2001-01-01T00:00:00Z"])
def test_pause_until_must_be_a_future_instant(api: APIClient, monitor: Monitor, until: str) -> None:
    response = api.post(f"/api/v1/monitors/{monitor.id}/pause/", {"until": until}, format="json")
    assert response.status_code == 400
    assert "until" in response.json()
    monitor.refresh_from_db()
    assert not monitor.paused


def test_another_projects_monitor_is_404(api: APIClient) -> None:
    foreign = MonitorFactory.create(project=ProjectFactory.create())
    for response in (
        api.get(f"/api/v1/monitors/{foreign.id}/"),
        api.patch(f"/api/v1/monitors/{foreign.id}/", {"name": "mine"}, format="json"),
        api.post(f"/api/v1/monitors/{foreign.id}/pause/"),
        api.delete(f"/api/v1/monitors/{foreign.id}/"),
    ):
        assert response.status_code == 404
    foreign.refresh_from_db()
    assert (foreign.name, foreign.paused) != ("mine", True)


def test_a_second_key_of_the_same_project_sees_the_same_monitors(project: Project, monitor: Monitor) -> None:
    assert [item["id"] for item in results(make_client(project).get("/api/v1/monitors/"))] == [monitor.id]
