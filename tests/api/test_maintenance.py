"""`maintenance/`: one-off and recurring windows, CRUD and validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import MaintenanceWindow
from monitors.models import Project
from tests.conftest import results
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

ONE_OFF = {"name": "upgrade", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-01T02:00:00Z"}
RECURRING = {
    "name": "backups",
    "cron_expression": "0 3 * * *",
    "timezone": "Europe/Berlin",
    "duration_seconds": 3600,
}


def create(api: APIClient, body: dict[str, Any]) -> Any:
    return api.post("/api/v1/maintenance/", body, format="json")


def test_create_one_off(api: APIClient, project: Project) -> None:
    response = create(api, ONE_OFF)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body | {"id": 0, "created_at": ""} == {
        "id": 0,
        "name": "upgrade",
        "kind": "one_off",
        "starts_at": "2030-01-01T00:00:00Z",
        "ends_at": "2030-01-01T02:00:00Z",
        "cron_expression": None,
        "timezone": None,
        "duration_seconds": None,
        "active_until": None,
        "created_at": "",
    }
    window = MaintenanceWindow.objects.get(id=body["id"])
    assert window.project == project
    assert window.starts_at == datetime(2030, 1, 1, tzinfo=UTC)


def test_create_recurring(api: APIClient) -> None:
    response = create(api, RECURRING)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "recurring"
    assert (body["cron_expression"], body["timezone"], body["duration_seconds"]) == (
        "0 3 * * *",
        "Europe/Berlin",
        3600,
    )
    assert (body["starts_at"], body["ends_at"]) == (None, None)


def test_recurring_time_zone_defaults_to_utc(api: APIClient) -> None:
    body = create(api, {"cron_expression": "@daily", "duration_seconds": 60}).json()
    assert body["timezone"] == "UTC"


def test_active_until_reports_a_window_in_force(api: APIClient) -> None:
    with time_machine.travel(datetime(2030, 6, 1, 1, 30, tzinfo=UTC), tick=False):
        # 03:00 in Berlin (summer time) is 01:00 UTC: in force until 02:00 UTC.
        body = create(api, RECURRING).json()
        assert body["active_until"] == "2030-06-01T02:00:00Z"
        one_off = create(api, {"starts_at": "2030-06-01T01:00:00Z", "ends_at": "2030-06-01T05:00:00Z"}).json()
        assert one_off["active_until"] == "2030-06-01T05:00:00Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"starts_at": "2030-01-01T02:00:00Z", "ends_at": "2030-01-01T01:00:00Z"}, "ends_at"),
        ({"starts_at": "2030-01-01T02:00:00Z", "ends_at": "2030-01-01T02:00:00Z"}, "ends_at"),
        ({"starts_at": "2030-01-01T02:00:00Z"}, "ends_at"),
        ({"ends_at": "2030-01-01T02:00:00Z"}, "starts_at"),
        ({**ONE_OFF, "timezone": "Europe/Berlin"}, "timezone"),
        ({**RECURRING, "cron_expression": "0 25 * * *"}, "cron_expression"),
        ({**RECURRING, "cron_expression": "@reboot"}, "cron_expression"),
        ({**RECURRING, "timezone": "Europe/Atlantis"}, "timezone"),
        ({**RECURRING, "duration_seconds": 0}, "duration_seconds"),
        ({"cron_expression": "0 3 * * *"}, "duration_seconds"),
        ({"duration_seconds": 60}, "cron_expression"),
        ({**ONE_OFF, **RECURRING}, "non_field_errors"),
        ({"name": "nothing"}, "non_field_errors"),
        ({"starts_at": "soon", "ends_at": "2030-01-01T02:00:00Z"}, "starts_at"),
    ],
)
def test_invalid_windows_are_field_errors(api: APIClient, body: dict[str, Any], field: str) -> None:
    response = create(api, body)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not MaintenanceWindow.objects.exists()


def test_cron_error_says_what_is_wrong(api: APIClient) -> None:
    errors = create(api, {**RECURRING, "cron_expression": "every day"}).json()
    assert "invalid cron expression" in errors["cron_expression"][0]
    errors = create(api, {**RECURRING, "timezone": "Nowhere"}).json()
    assert "unknown time zone" in errors["timezone"][0]


def test_list_and_read(api: APIClient) -> None:
    first = create(api, ONE_OFF).json()
    second = create(api, RECURRING).json()
    assert [item["id"] for item in results(api.get("/api/v1/maintenance/"))] == [first["id"], second["id"]]
    assert api.get(f"/api/v1/maintenance/{second['id']}/").json() == second


def test_list_is_paginated(api: APIClient, project: Project) -> None:
    start = timezone.now()
    MaintenanceWindow.objects.bulk_create(
        [
            MaintenanceWindow(project=project, starts_at=start, ends_at=start + timedelta(hours=1))
            for _ in range(51)
        ]
    )
    body = api.get("/api/v1/maintenance/?page=2").json()
    assert (body["count"], len(body["results"])) == (51, 1)


def test_patch_moves_a_one_off_window(api: APIClient) -> None:
    window = create(api, ONE_OFF).json()
    response = api.patch(
        f"/api/v1/maintenance/{window['id']}/", {"ends_at": "2030-01-01T04:00:00Z"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["ends_at"] == "2030-01-01T04:00:00Z"


def test_patch_cannot_end_before_the_stored_start(api: APIClient) -> None:
    window = create(api, ONE_OFF).json()
    response = api.patch(
        f"/api/v1/maintenance/{window['id']}/", {"ends_at": "2029-12-31T00:00:00Z"}, format="json"
    )
    assert response.status_code == 400
    assert "ends_at" in response.json()


def test_patch_switches_form_when_the_old_one_is_cleared(api: APIClient) -> None:
    window = create(api, ONE_OFF).json()
    url = f"/api/v1/maintenance/{window['id']}/"
    mixed = api.patch(url, {"cron_expression": "0 3 * * *", "duration_seconds": 600}, format="json")
    assert mixed.status_code == 400
    switched = api.patch(
        url,
        {"starts_at": None, "ends_at": None, "cron_expression": "0 3 * * *", "duration_seconds": 600},
        format="json",
    )
    assert switched.status_code == 200, switched.json()
    assert switched.json()["kind"] == "recurring"
    stored = MaintenanceWindow.objects.get(id=window["id"])
    assert (stored.starts_at, stored.ends_at, stored.cron_expression) == (None, None, "0 3 * * *")
    back = api.patch(url, {**ONE_OFF, "cron_expression": None, "duration_seconds": None}, format="json")
    assert back.status_code == 200, back.json()
    stored.refresh_from_db()
    assert (stored.cron_expression, stored.duration_seconds, stored.timezone) == ("", None, "UTC")


def test_delete(api: APIClient) -> None:
    window = create(api, ONE_OFF).json()
    assert api.delete(f"/api/v1/maintenance/{window['id']}/").status_code == 204
    assert not MaintenanceWindow.objects.exists()


def test_another_projects_window_is_404(api: APIClient) -> None:
    start = timezone.now()
    foreign = MaintenanceWindow.objects.create(
        project=ProjectFactory.create(), starts_at=start, ends_at=start + timedelta(hours=1)
    )
    assert results(api.get("/api/v1/maintenance/")) == []
    url = f"/api/v1/maintenance/{foreign.id}/"
    assert api.get(url).status_code == 404
    assert api.patch(url, {"name": "mine"}, format="json").status_code == 404
    assert api.delete(url).status_code == 404
    assert MaintenanceWindow.objects.filter(id=foreign.id, name="").exists()


def test_read_only_key_reads_but_cannot_write(read_only_api: APIClient, api: APIClient) -> None:
    window = create(api, ONE_OFF).json()
    assert read_only_api.get(f"/api/v1/maintenance/{window['id']}/").status_code == 200
    assert create(read_only_api, RECURRING).status_code == 403
