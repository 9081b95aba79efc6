"""Monitor fields from Healthchecks (CONTRACT §3, §4): resume_on_ping, methods, keywords,
runbook_url, and `ping_uuid` on create."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from monitors.keywords import MAX_KEYWORD_LENGTH, MAX_KEYWORDS_PER_KIND
from monitors.models import Monitor, Project
from pings.models import Ping
from tests.conftest import make_client
from tests.factories import MonitorFactory, ProjectFactory

pytestmark = pytest.mark.django_db

EMPTY: dict[str, list[str]] = {"success": [], "failure": [], "start": []}


def create(api: APIClient, **body: Any) -> Any:
    # json.dumps escapes lone surrogates, which the test client's own renderer cannot encode.
    return api.post(
        "/api/v1/monitors/", json.dumps({"name": "Backup", **body}), content_type="application/json"
    )


def test_defaults_of_a_new_monitor(api: APIClient) -> None:
    body = create(api).json()
    assert body["resume_on_ping"] is False
    assert body["methods"] == "any"
    assert body["keywords"] == EMPTY
    assert body["runbook_url"] == ""
    assert "ping_uuid" not in body


def test_options_are_stored_and_read_back(api: APIClient) -> None:
    response = create(
        api,
        resume_on_ping=True,
        methods="POST",
        keywords={"success": ["  All done ", "all DONE", "ok"], "failure": ["ERROR"]},
        runbook_url="https://wiki.example.com/runbooks/backup#restore",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["resume_on_ping"] is True
    assert body["methods"] == "POST"
    # Stored normalised: every kind present, stripped, duplicates ignoring case dropped.
    assert body["keywords"] == {"success": ["All done", "ok"], "failure": ["ERROR"], "start": []}
    assert body["runbook_url"] == "https://wiki.example.com/runbooks/backup#restore"
    monitor = Monitor.objects.get(id=body["id"])
    assert monitor.keywords == body["keywords"]
    assert api.get(f"/api/v1/monitors/{monitor.id}/").json()["keywords"] == body["keywords"]


def test_patch_changes_the_options(api: APIClient, monitor: Monitor) -> None:
    response = api.patch(
        f"/api/v1/monitors/{monitor.id}/",
        {"methods": "POST", "keywords": {"start": ["begin"]}, "runbook_url": "", "resume_on_ping": True},
        format="json",
    )
    assert response.status_code == 200, response.json()
    monitor.refresh_from_db()
    assert (monitor.methods, monitor.resume_on_ping) == ("POST", True)
    assert monitor.keywords == {"success": [], "failure": [], "start": ["begin"]}
    back = api.patch(f"/api/v1/monitors/{monitor.id}/", {"methods": "any"}, format="json")
    assert back.json()["methods"] == "any"
    assert back.json()["keywords"]["start"] == ["begin"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("methods", "GET"),
        ("methods", "post"),
        ("methods", None),
        ("resume_on_ping", "sometimes"),
        ("keywords", None),
        ("keywords", ["ok"]),
        ("keywords", {"success": "ok"}),
        ("keywords", {"succes": ["ok"]}),
        ("keywords", {"success": [""]}),
        ("keywords", {"success": ["   "]}),
        ("keywords", {"success": [1]}),
        ("keywords", {"failure": [None]}),
        ("keywords", {"failure": ["bad\u0000word"]}),
        ("keywords", {"failure": ["\ud800"]}),
        ("keywords", {"start": ["x" * (MAX_KEYWORD_LENGTH + 1)]}),
        ("keywords", {"start": [f"k{n}" for n in range(MAX_KEYWORDS_PER_KIND + 1)]}),
        ("runbook_url", "ftp://files.example.com/runbook"),
        ("runbook_url", "javascript:alert(1)"),
        ("runbook_url", "not a url"),
        ("runbook_url", "https://example.com/" + "a" * 2000),
        ("runbook_url", "https://example.com/\u0000"),
        ("runbook_url", None),
    ],
)
def test_bad_option_is_a_field_error_and_stores_nothing(
    api: APIClient, project: Project, field: str, value: Any
) -> None:
    response = create(api, **{field: value})
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Monitor.objects.filter(project=project).exists()


def test_bad_option_on_patch_changes_nothing(api: APIClient, monitor: Monitor) -> None:
    response = api.patch(
        f"/api/v1/monitors/{monitor.id}/",
        {"name": "Renamed", "keywords": {"failure": ["ok", 7]}},
        format="json",
    )
    assert response.status_code == 400
    assert "keywords" in response.json()
    monitor.refresh_from_db()
    assert monitor.keywords == EMPTY
    assert monitor.name != "Renamed"


def test_unknown_keyword_kind_is_named(api: APIClient) -> None:
    response = create(api, keywords={"success": ["ok"], "warning": ["hmm"]})
    assert "warning" in response.json()["keywords"][0]


def test_schema_describes_the_options(api: APIClient) -> None:
    schema = Client().get("/api/v1/schema/?format=json").json()
    monitor = schema["components"]["schemas"]["Monitor"]["properties"]
    assert set(monitor["keywords"]["properties"]) == {"success", "failure", "start"}
    assert "methods" in monitor
    assert "runbook_url" in monitor
    assert monitor["ping_uuid"]["writeOnly"] is True


# --- ping_uuid on create ---------------------------------------------------------------------


def test_create_keeps_a_given_ping_uuid_and_its_url_answers(api: APIClient, client: Client) -> None:
    kept = uuid.UUID("5b5f4d48-7c8e-4b8e-9a53-2f0d7cbb1f11")
    response = create(api, ping_uuid=str(kept))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["ping_url"] == f"{settings.SITE_URL}/ping/{kept}"
    assert str(kept) not in str(body["id"])
    assert "ping_uuid" not in body
    assert client.get(f"/ping/{kept}").status_code == 200
    assert Ping.objects.filter(monitor_id=body["id"]).count() == 1


def test_a_read_only_key_never_sees_the_given_uuid(api: APIClient, project: Project) -> None:
    kept = uuid.uuid4()
    monitor_id = create(api, ping_uuid=str(kept)).json()["id"]
    seen = make_client(project, read_only=True).get(f"/api/v1/monitors/{monitor_id}/")
    assert str(kept) not in seen.content.decode()
    assert seen.json()["ping_url"] is None


def test_a_ping_uuid_in_use_in_another_project_is_a_400_naming_the_field(api: APIClient) -> None:
    other = MonitorFactory.create(project=ProjectFactory.create())
    response = create(api, ping_uuid=str(other.ping_uuid))
    assert response.status_code == 400
    assert "ping_uuid" in response.json()
    assert Monitor.objects.filter(ping_uuid=other.ping_uuid).count() == 1


@pytest.mark.parametrize("value", ["not-a-uuid", "1234", 42, None, ""])
def test_a_malformed_ping_uuid_is_a_400(api: APIClient, project: Project, value: Any) -> None:
    response = create(api, ping_uuid=value)
    assert response.status_code == 400
    assert "ping_uuid" in response.json()
    assert not Monitor.objects.filter(project=project).exists()


def test_ping_uuid_cannot_change_on_patch(api: APIClient, monitor: Monitor) -> None:
    before = monitor.ping_uuid
    response = api.patch(
        f"/api/v1/monitors/{monitor.id}/", {"ping_uuid": str(uuid.uuid4()), "name": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "ping_uuid" in response.json()
    monitor.refresh_from_db()
    assert (monitor.ping_uuid, monitor.name) == (before, monitor.name)
    assert monitor.name != "x"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_creates_with_one_ping_uuid_make_one_monitor_and_400s() -> None:
    """Both requests pass validation at once; the unique constraint decides, named as the field."""
    project = ProjectFactory.create()
    kept = str(uuid.uuid4())
    clients = [make_client(project) for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    answers: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def post(index: int) -> None:
        barrier.wait()
        response = clients[index].post(
            "/api/v1/monitors/", {"name": f"Job {index}", "ping_uuid": kept}, format="json"
        )
        with lock:
            answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [400] * (len(clients) - 1), answers
    assert all("ping_uuid" in body for status, body in answers if status == 400)
    assert Monitor.objects.filter(ping_uuid=kept).count() == 1
