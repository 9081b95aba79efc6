"""Project settings: ping key, status and badge URLs, API keys (shown once, revoked), maintenance."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from alerts.models import MaintenanceWindow
from monitors.api_keys import api_key_create
from monitors.models import ApiKey, Monitor, Project
from tests.factories import MonitorFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def settings_url(project: Project, rest: str = "") -> str:
    return f"/projects/{project.id}/settings/{rest}"


@pytest.mark.parametrize(
    ("method", "rest"),
    [
        ("get", ""),
        ("post", "ping-key/"),
        ("post", "keys/"),
        ("post", "keys/1/revoke/"),
        ("post", "maintenance/"),
        ("post", "maintenance/1/delete/"),
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in(
    client: Client, project: Project, method: str, rest: str
) -> None:
    path = settings_url(project, rest)
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_another_projects_settings_are_not_found(signed_in: Client, strangers_monitor: Monitor) -> None:
    theirs = strangers_monitor.project
    api_key, _ = api_key_create(project=theirs, name="theirs")
    window = MaintenanceWindow.objects.create(
        project=theirs, cron_expression="0 3 * * *", duration_seconds=60
    )
    old_key = theirs.ping_key
    assert signed_in.get(settings_url(theirs)).status_code == 404
    assert signed_in.post(settings_url(theirs, "ping-key/"), {"ping_key": "x" * 20}).status_code == 404
    assert (
        signed_in.post(settings_url(theirs, "keys/"), {"name": "k", "access": "read_write"}).status_code
        == 404
    )
    assert signed_in.post(settings_url(theirs, f"keys/{api_key.id}/revoke/")).status_code == 404
    assert signed_in.post(settings_url(theirs, f"maintenance/{window.id}/delete/")).status_code == 404
    mine = signed_in.get("/").context["access"].project
    assert signed_in.post(settings_url(mine, f"keys/{api_key.id}/revoke/")).status_code == 404
    assert signed_in.post(settings_url(mine, f"maintenance/{window.id}/delete/")).status_code == 404
    theirs.refresh_from_db()
    assert theirs.ping_key == old_key
    assert ApiKey.objects.filter(project=theirs).count() == 1
    assert MaintenanceWindow.objects.filter(id=window.id).exists()


def test_the_page_shows_ping_key_status_and_badge_urls(
    signed_in: Client, project: Project, settings: Any
) -> None:
    settings.SITE_URL = "https://vigil.example.com"
    MonitorFactory.create(project=project, name="Nightly backup", slug="nightly-backup")
    page = signed_in.get(settings_url(project)).content.decode()
    assert project.ping_key in page
    assert f"https://vigil.example.com/status/{project.status_key}/" in page
    assert f"https://vigil.example.com/badge/{project.badge_key}.svg" in page
    assert f"https://vigil.example.com/badge/{project.badge_key}/nightly-backup.svg" in page
    assert f'<img src="/badge/{project.badge_key}.svg"' in page
    assert signed_in.get(f"/badge/{project.badge_key}.svg")["Content-Type"].startswith("image/svg+xml")


def test_changing_the_ping_key(signed_in: Client, project: Project) -> None:
    response = signed_in.post(settings_url(project, "ping-key/"), {"ping_key": "my-new-ping-key-2026"})
    assert response["Location"] == settings_url(project)
    project.refresh_from_db()
    assert project.ping_key == "my-new-ping-key-2026"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("short", "Between 16 and 40"),
        ("with spaces in it, sadly", "Only letters"),
        ("5b5f4d48-7c8e-4b8e-9a53-2f0d7cbb1f11", "uuid"),
        ("taken-by-another-project", "Another project already uses"),
    ],
)
def test_a_bad_ping_key_is_a_field_error_and_keeps_the_old_one(
    signed_in: Client, project: Project, value: str, message: str
) -> None:
    ProjectFactory.create(ping_key="taken-by-another-project")
    old = project.ping_key
    response = signed_in.post(settings_url(project, "ping-key/"), {"ping_key": value})
    assert response.status_code == 400
    assert message in " ".join(response.context["ping_key_form"].errors["ping_key"])
    project.refresh_from_db()
    assert project.ping_key == old


def test_a_new_api_key_is_shown_once_and_listed_by_its_beginning(signed_in: Client, project: Project) -> None:
    response = signed_in.post(
        settings_url(project, "keys/"), {"name": "deploy script", "access": "read_only"}
    )
    assert response["Location"] == settings_url(project) + "#api-keys", "a reload never makes a second key"
    response = signed_in.get(settings_url(project))
    raw_key = response.context["new_key"]
    api_key = ApiKey.objects.get(project=project, name="deploy script")
    assert api_key.read_only
    assert raw_key.startswith(api_key.prefix)
    assert api_key.prefix.startswith("vgl_")
    assert raw_key in response.content.decode()

    page = signed_in.get(settings_url(project)).content.decode()
    assert raw_key not in page
    assert f"{api_key.prefix}…" in page
    assert "read-only" in page
    assert "never" in page

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert client.get("/api/v1/monitors/").status_code == 200


def test_a_bad_key_name_is_a_field_error_and_creates_nothing(signed_in: Client, project: Project) -> None:
    for data in ({"name": "", "access": "read_write"}, {"name": "x" * 101, "access": "read_write"}):
        response = signed_in.post(settings_url(project, "keys/"), data)
        assert response.status_code == 400
        assert response.context["api_key_form"].errors["name"]
    response = signed_in.post(settings_url(project, "keys/"), {"name": "k", "access": "root"})
    assert response.context["api_key_form"].errors["access"]
    assert not ApiKey.objects.exists()


def test_revoking_a_key_and_the_api_then_refuses_it(signed_in: Client, project: Project) -> None:
    api_key, raw_key = api_key_create(project=project, name="old laptop")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert client.get("/api/v1/monitors/").status_code == 200

    response = signed_in.post(settings_url(project, f"keys/{api_key.id}/revoke/"))
    assert response["Location"] == settings_url(project)
    assert not ApiKey.objects.filter(id=api_key.id).exists()
    assert client.get("/api/v1/monitors/").status_code in (401, 403)


def test_the_api_revokes_through_the_same_service(api: APIClient, project: Project) -> None:
    other, _ = api_key_create(project=project, name="other")
    assert api.delete(f"/api/v1/keys/{other.id}/").status_code == 204
    assert not ApiKey.objects.filter(id=other.id).exists()


def test_adding_and_removing_maintenance_windows(signed_in: Client, project: Project) -> None:
    response = signed_in.post(
        settings_url(project, "maintenance/"),
        {
            "name": "Sunday backups",
            "kind": "recurring",
            "cron_expression": "0 3 * * 0",
            "timezone": "Europe/Berlin",
            "duration_minutes": "90",
        },
    )
    assert response.status_code == 302
    window = MaintenanceWindow.objects.get(project=project)
    assert (window.cron_expression, window.timezone, window.duration_seconds) == (
        "0 3 * * 0",
        "Europe/Berlin",
        5400,
    )
    assert window.starts_at is None

    response = signed_in.post(
        settings_url(project, "maintenance/"),
        {
            "name": "Migration",
            "kind": "one_off",
            "starts_at": "2030-03-01T18:00",
            "ends_at": "2030-03-01T20:30",
            "zone": "Europe/Berlin",
        },
    )
    assert response.status_code == 302
    once = MaintenanceWindow.objects.get(project=project, name="Migration")
    assert once.starts_at is not None
    assert once.starts_at.isoformat() == "2030-03-01T17:00:00+00:00"
    assert once.cron_expression == ""

    page = signed_in.get(settings_url(project)).content.decode()
    assert "Sunday backups" in page
    assert "Migration" in page

    assert signed_in.post(settings_url(project, f"maintenance/{window.id}/delete/")).status_code == 302
    assert list(MaintenanceWindow.objects.filter(project=project)) == [once]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "recurring", "cron_expression": "not cron", "duration_minutes": "5"}, "cron_expression"),
        ({"kind": "recurring", "cron_expression": "0 3 * * *"}, "duration_minutes"),
        (
            {
                "kind": "recurring",
                "cron_expression": "0 3 * * *",
                "duration_minutes": "5",
                "timezone": "Mars/Base",
            },
            "timezone",
        ),
        ({"kind": "one_off", "starts_at": "2030-03-01T18:00", "ends_at": "2030-03-01T17:00"}, "ends_at"),
        ({"kind": "one_off", "starts_at": "tomorrow-ish", "ends_at": "2030-03-01T17:00"}, "starts_at"),
        ({"kind": "one_off", "starts_at": "2030-03-01T18:00"}, "ends_at"),
    ],
)
def test_a_bad_window_is_a_field_error_and_adds_nothing(
    signed_in: Client, project: Project, data: dict[str, str], field: str
) -> None:
    response = signed_in.post(settings_url(project, "maintenance/"), {"name": "w", **data})
    assert response.status_code == 400
    assert response.context["window_form"].errors[field]
    assert not MaintenanceWindow.objects.exists()


def test_the_api_deletes_windows_through_the_same_service(api: APIClient, project: Project) -> None:
    window = MaintenanceWindow.objects.create(
        project=project, cron_expression="0 3 * * *", duration_seconds=60
    )
    assert api.delete(f"/api/v1/maintenance/{window.id}/").status_code == 204
    assert not MaintenanceWindow.objects.exists()


def test_every_form_carries_a_csrf_token(project: Project, user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get(settings_url(project)).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 4
    response = client.post(settings_url(project, "keys/"), {"name": "k", "access": "read_write"})
    assert response.status_code == 403
    assert not ApiKey.objects.exists()
