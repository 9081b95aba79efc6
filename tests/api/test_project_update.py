"""`PATCH project/`: a project's name and ping key (CONTRACT §4), through monitors.projects."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from monitors.models import Project
from monitors.projects import ProjectError, project_update
from pings.models import Ping
from tests.conftest import make_client
from tests.factories import MonitorFactory, ProjectFactory

pytestmark = pytest.mark.django_db

KEY = "hc-migrated_Key-0123"


def patch(api: APIClient, **body: Any) -> Any:
    return api.patch("/api/v1/project/", body, format="json")


def test_rename_and_set_the_ping_key(api: APIClient, project: Project) -> None:
    response = patch(api, name="  Production  ", ping_key=KEY)
    assert response.status_code == 200, response.json()
    assert (response.json()["name"], response.json()["ping_key"]) == ("Production", KEY)
    project.refresh_from_db()
    assert (project.name, project.ping_key) == ("Production", KEY)
    assert api.get("/api/v1/project/").json()["ping_key"] == KEY


def test_slug_pings_follow_the_new_key(api: APIClient, project: Project, client: Client) -> None:
    monitor = MonitorFactory.create(project=project, slug="backup")
    old_key = project.ping_key
    assert patch(api, ping_key=KEY).status_code == 200
    assert client.get(f"/ping/{KEY}/backup").status_code == 200
    assert client.get(f"/ping/{old_key}/backup").status_code == 404
    assert Ping.objects.filter(monitor=monitor).count() == 1


def test_only_the_name_changes_when_only_the_name_is_sent(api: APIClient, project: Project) -> None:
    key = project.ping_key
    assert patch(api, name="Renamed").json()["ping_key"] == key


@pytest.mark.parametrize(
    "value",
    [
        str(uuid.uuid4()),
        uuid.uuid4().hex,
        uuid.uuid4().hex.upper(),
        "0123-4567-89ab-cdef-0123-4567-89ab-cdef",
        "short",
        "x" * 41,
        "has space in the key here",
        "slash/in/the/key/here",
        "dot.in.the.key.here.x",
        "ünicode-key-1234567",
        "nul\x00in-the-key-12345",
        "",
    ],
)
def test_bad_ping_key_is_a_400_naming_the_field(api: APIClient, project: Project, value: str) -> None:
    before = project.ping_key
    response = patch(api, ping_key=value, name="Should not stick")
    assert response.status_code == 400
    assert "ping_key" in response.json(), response.json()
    project.refresh_from_db()
    assert (project.ping_key, project.name) == (before, project.name)
    assert project.name != "Should not stick"


def test_a_key_of_another_project_is_a_400(api: APIClient) -> None:
    other = ProjectFactory.create()
    response = patch(api, ping_key=other.ping_key)
    assert response.status_code == 400
    assert "ping_key" in response.json()


def test_setting_its_own_key_again_is_fine(api: APIClient, project: Project) -> None:
    assert patch(api, ping_key=project.ping_key).status_code == 200


@pytest.mark.parametrize("value", ["", "   ", "n" * 201, None])
def test_bad_name_is_a_400(api: APIClient, project: Project, value: Any) -> None:
    response = patch(api, name=value)
    assert response.status_code == 400
    assert "name" in response.json()


def test_read_only_keys_cannot_change_the_project(read_only_api: APIClient, project: Project) -> None:
    assert patch(read_only_api, name="Nope").status_code == 403
    project.refresh_from_db()
    assert project.name != "Nope"


def test_the_service_refuses_a_clash_the_same_way() -> None:
    first, second = ProjectFactory.create(), ProjectFactory.create()
    with pytest.raises(ProjectError) as raised:
        project_update(project=first, ping_key=second.ping_key)
    assert raised.value.field == "ping_key"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_projects_for_one_key_one_wins_the_rest_get_400() -> None:
    projects = [ProjectFactory.create() for _ in range(5)]
    clients = [make_client(project) for project in projects]
    barrier = threading.Barrier(len(clients))
    statuses: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def claim(client: APIClient) -> None:
        barrier.wait()
        response = client.patch("/api/v1/project/", {"ping_key": KEY}, format="json")
        with lock:
            statuses.append((response.status_code, response.json()))

    threads = [threading.Thread(target=claim, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in statuses) == [200] + [400] * (len(clients) - 1), statuses
    assert all("ping_key" in body for status, body in statuses if status == 400)
    assert Project.objects.filter(ping_key=KEY).count() == 1
