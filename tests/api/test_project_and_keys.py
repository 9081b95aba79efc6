"""`project/` and `keys/` (CONTRACT §4)."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from monitors.models import ApiKey, Project
from tests.conftest import results

pytestmark = pytest.mark.django_db


def test_project_is_the_keys_project(api: APIClient, project: Project) -> None:
    body = api.get("/api/v1/project/").json()
    assert body == {
        "id": project.id,
        "name": project.name,
        "ping_key": project.ping_key,
        "status_key": project.status_key,
        "status_url": f"{settings.SITE_URL}/status/{project.status_key}/",
        "badge_key": project.badge_key,
    }


def test_read_only_key_reads_the_project(read_only_api: APIClient, project: Project) -> None:
    assert read_only_api.get("/api/v1/project/").json()["id"] == project.id


def test_create_key_shows_the_whole_key_once(api: APIClient, project: Project) -> None:
    response = api.post("/api/v1/keys/", {"name": "ci", "read_only": True}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "prefix", "read_only", "key"}
    assert (body["name"], body["read_only"]) == ("ci", True)
    # The prefix is how the key begins, as a person sees it typed.
    assert body["prefix"].startswith("vgl_")
    assert len(body["prefix"]) == len("vgl_") + 8
    assert body["key"].startswith(f"{body['prefix']}_")
    stored = ApiKey.objects.get(id=body["id"])
    assert stored.project == project
    assert body["key"] not in (stored.key_hash, stored.prefix)
    for item in results(api.get("/api/v1/keys/")):
        assert "key" not in item


def test_a_new_key_works_and_a_read_only_one_cannot_write(api: APIClient) -> None:
    raw = api.post("/api/v1/keys/", {"name": "ro", "read_only": True}, format="json").json()["key"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/monitors/").status_code == 200
    assert client.post("/api/v1/monitors/", {"name": "x"}, format="json").status_code == 403


def test_keys_default_to_read_write(api: APIClient) -> None:
    assert api.post("/api/v1/keys/", {"name": "rw"}, format="json").json()["read_only"] is False


def test_key_needs_a_name(api: APIClient) -> None:
    response = api.post("/api/v1/keys/", {"read_only": True}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_list_shows_prefixes_only(api: APIClient, project: Project) -> None:
    items = results(api.get("/api/v1/keys/"))
    assert [item["prefix"] for item in items] == list(
        ApiKey.objects.filter(project=project).order_by("id").values_list("prefix", flat=True)
    )
    assert set(items[0]) == {"id", "name", "prefix", "read_only", "created_at", "last_used_at"}


def test_delete_revokes(api: APIClient) -> None:
    created = api.post("/api/v1/keys/", {"name": "temp"}, format="json").json()
    revoked = APIClient()
    revoked.credentials(HTTP_AUTHORIZATION=f"Bearer {created['key']}")
    assert revoked.get("/api/v1/project/").status_code == 200
    assert api.delete(f"/api/v1/keys/{created['id']}/").status_code == 204
    assert revoked.get("/api/v1/project/").status_code == 401
    assert not ApiKey.objects.filter(id=created["id"]).exists()


def test_read_only_key_may_not_even_list_keys(read_only_api: APIClient) -> None:
    assert read_only_api.get("/api/v1/keys/").status_code == 403
    assert read_only_api.post("/api/v1/keys/", {"name": "x"}, format="json").status_code == 403
