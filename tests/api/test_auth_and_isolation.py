"""Who may do what: no key is 401, a read-only key cannot write, another project's ids are 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import Channel, Incident, MaintenanceWindow
from monitors.api_keys import api_key_create
from monitors.models import ApiKey, Monitor, Project
from tests.api.builders import make_channel, make_incident, make_ping, make_run
from tests.conftest import make_client
from tests.factories import MonitorFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@dataclass
class World:
    """Project A's objects, one of each kind the API can address by id."""

    project: Project
    monitor: Monitor
    incident: Incident
    window: MaintenanceWindow
    channel: Channel
    key: ApiKey


@pytest.fixture
def world(project: Project) -> World:
    monitor = MonitorFactory.create(project=project)
    make_run(monitor)
    make_ping(monitor)
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        project=project, starts_at=now, ends_at=now + timedelta(hours=1)
    )
    key, _ = api_key_create(project=project, name="spare")
    return World(project, monitor, make_incident(monitor), window, make_channel(project), key)


# (method, path with {monitor}/{incident}/{window}/{channel}/{key} placeholders, JSON body for writes)
ENDPOINTS: list[tuple[str, str, dict[str, object] | None]] = [
    ("get", "/api/v1/monitors/", None),
    ("post", "/api/v1/monitors/", {"name": "new"}),
    ("get", "/api/v1/monitors/{monitor}/", None),
    ("patch", "/api/v1/monitors/{monitor}/", {"name": "renamed"}),
    ("delete", "/api/v1/monitors/{monitor}/", None),
    ("post", "/api/v1/monitors/{monitor}/pause/", {}),
    ("post", "/api/v1/monitors/{monitor}/resume/", {}),
    ("get", "/api/v1/monitors/{monitor}/runs/", None),
    ("get", "/api/v1/monitors/{monitor}/pings/", None),
    ("get", "/api/v1/monitors/{monitor}/stats/", None),
    ("get", "/api/v1/runs/", None),
    ("get", "/api/v1/project/", None),
    ("get", "/api/v1/metrics/", None),
    ("get", "/api/v1/keys/", None),
    ("post", "/api/v1/keys/", {"name": "new"}),
    ("delete", "/api/v1/keys/{key}/", None),
    ("get", "/api/v1/incidents/", None),
    ("get", "/api/v1/incidents/{incident}/", None),
    ("post", "/api/v1/incidents/{incident}/acknowledge/", {}),
    ("get", "/api/v1/maintenance/", None),
    ("post", "/api/v1/maintenance/", {"cron_expression": "@daily", "duration_seconds": 60}),
    ("get", "/api/v1/maintenance/{window}/", None),
    ("patch", "/api/v1/maintenance/{window}/", {"name": "renamed"}),
    ("delete", "/api/v1/maintenance/{window}/", None),
    ("get", "/api/v1/channels/", None),
    (
        "post",
        "/api/v1/channels/",
        {"kind": "webhook", "name": "n", "config": {"url": "https://example.com/"}},
    ),
    ("get", "/api/v1/channels/{channel}/", None),
    ("patch", "/api/v1/channels/{channel}/", {"name": "renamed"}),
    ("delete", "/api/v1/channels/{channel}/", None),
    ("post", "/api/v1/channels/{channel}/test/", {}),
    ("post", "/api/v1/channels/{channel}/rotate-secret/", {}),
]
WRITES = [endpoint for endpoint in ENDPOINTS if endpoint[0] != "get"]
BY_ID = [endpoint for endpoint in ENDPOINTS if "{" in endpoint[1]]
LISTS = [endpoint for endpoint in ENDPOINTS if endpoint[0] == "get" and "{" not in endpoint[1]]


def ids(endpoint: tuple[str, str, object]) -> str:
    return f"{endpoint[0].upper()} {endpoint[1]}"


def url(path: str, world: World) -> str:
    return path.format(
        monitor=world.monitor.id,
        incident=world.incident.id,
        window=world.window.id,
        channel=world.channel.id,
        key=world.key.id,
    )


def call(client: APIClient, world: World, method: str, path: str, body: dict[str, object] | None) -> Any:
    return getattr(client, method)(url(path, world), body, format="json")


def counts(world: World) -> tuple[int, ...]:
    return (
        Monitor.objects.count(),
        MaintenanceWindow.objects.count(),
        Channel.objects.count(),
        ApiKey.objects.count(),
    )


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer vgl_00000000_nope", "Bearer", "Bearer a b", "Basic dXNlcjpwYXNz", "Bearer vgl_\u00e9_x"],
)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
def test_no_or_bad_key_is_401_with_www_authenticate(
    world: World, endpoint: tuple[str, str, dict[str, object] | None], authorization: str | None
) -> None:
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = call(client, world, *endpoint)
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("endpoint", WRITES, ids=ids)
def test_read_only_key_gets_403_on_every_write(
    world: World, endpoint: tuple[str, str, dict[str, object] | None]
) -> None:
    client = make_client(world.project, read_only=True)
    before = counts(world)
    response = call(client, world, *endpoint)
    assert response.status_code == 403, response.content
    assert set(response.json()) == {"detail"}
    assert counts(world) == before
    world.monitor.refresh_from_db()
    assert (world.monitor.paused, world.monitor.name) == (False, world.monitor.name)


def test_read_only_key_gets_403_on_listing_keys(world: World) -> None:
    assert make_client(world.project, read_only=True).get("/api/v1/keys/").status_code == 403


@pytest.mark.parametrize("endpoint", BY_ID, ids=ids)
def test_another_projects_ids_are_404(
    world: World, endpoint: tuple[str, str, dict[str, object] | None]
) -> None:
    client = make_client(ProjectFactory.create())
    before = counts(world)
    response = call(client, world, *endpoint)
    assert response.status_code == 404, response.content
    assert set(response.json()) == {"detail"}
    assert counts(world) == before
    world.incident.refresh_from_db()
    assert world.incident.acknowledged_at is None


@pytest.mark.parametrize("endpoint", LISTS, ids=ids)
def test_another_projects_lists_show_none_of_its_objects(
    world: World, endpoint: tuple[str, str, dict[str, object] | None]
) -> None:
    other = ProjectFactory.create()
    response = call(make_client(other), world, *endpoint)
    assert response.status_code == 200
    if endpoint[1] == "/api/v1/metrics/":
        assert world.monitor.slug not in response.content.decode()
    elif endpoint[1] == "/api/v1/project/":
        assert response.json()["id"] == other.id
    elif endpoint[1] == "/api/v1/keys/":
        own = set(ApiKey.objects.filter(project=other).values_list("id", flat=True))
        assert {item["id"] for item in response.json()["results"]} == own
    else:
        assert response.json()["results"] == []
