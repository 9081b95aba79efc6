"""Run now through the REST API: the `trigger` field, `monitors/<id>/run/`, `run-requests/`,
`agent/claim/`, and their refusals (409 without a trigger, 403 for read-only keys, 404 for
another project's monitor, 400 for a bad or private trigger URL)."""

from __future__ import annotations

import uuid

import pytest
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from monitors.models import Monitor, Project
from tests.conftest import make_client, results
from tests.factories import MonitorFactory
from triggers.models import RunRequest, RunRequestStatus, Trigger, TriggerKind
from triggers.services import TriggerSpec, trigger_set

pytestmark = pytest.mark.django_db


def url_of(monitor: Monitor, tail: str = "") -> str:
    return f"/api/v1/monitors/{monitor.id}/{tail}"


def test_a_monitor_has_no_trigger_until_one_is_set(api: APIClient, monitor: Monitor) -> None:
    assert api.get(url_of(monitor)).json()["trigger"] is None


def test_setting_a_url_trigger_answers_its_secret_once(
    api: APIClient, monitor: Monitor, settings: Settings
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = False
    response = api.patch(
        url_of(monitor), {"trigger": {"kind": "url", "url": "https://93.184.216.34/run"}}, format="json"
    )

    assert response.status_code == 200, response.json()
    trigger = response.json()["trigger"]
    assert trigger["kind"] == "url"
    assert trigger["url"] == "https://93.184.216.34/run"
    assert trigger["secret"].startswith("whsec_")
    assert Trigger.objects.get(monitor=monitor).secret == trigger["secret"]
    # Never again: reads show the URL only.
    assert api.get(url_of(monitor)).json()["trigger"] == {"kind": "url", "url": "https://93.184.216.34/run"}
    # An edit of something else keeps the trigger and tells no secret.
    edited = api.patch(url_of(monitor), {"grace_seconds": 60}, format="json").json()
    assert edited["trigger"] == {"kind": "url", "url": "https://93.184.216.34/run"}


def test_a_read_only_key_sees_a_trigger_url_as_null(
    read_only_api: APIClient, monitor: Monitor, settings: Settings
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = True
    trigger_set(monitor=monitor, spec=TriggerSpec(kind=TriggerKind.URL, url="http://127.0.0.1:9/run"))

    assert read_only_api.get(url_of(monitor)).json()["trigger"] == {"kind": "url", "url": None}


def test_a_monitor_is_created_with_an_agent_trigger_and_it_can_be_removed(api: APIClient) -> None:
    created = api.post("/api/v1/monitors/", {"slug": "backup", "trigger": {"kind": "agent"}}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["trigger"] == {"kind": "agent"}

    removed = api.patch(f"/api/v1/monitors/{created.json()['id']}/", {"trigger": None}, format="json")

    assert removed.status_code == 200
    assert removed.json()["trigger"] is None
    assert not Trigger.objects.exists()


@pytest.mark.parametrize(
    ("trigger", "says"),
    [
        ({"kind": "url", "url": "ftp://example.com/run"}, "http"),
        ({"kind": "url"}, "URL is required"),
        ({"kind": "url", "url": "http://127.0.0.1:8000/run"}, "loopback"),
        ({"kind": "url", "url": "http://10.1.2.3/run"}, "private"),
        ({"kind": "url", "url": "http://169.254.169.254/latest/meta-data"}, "link-local"),
        ({"kind": "cron"}, "kind"),
        ({"kind": {}}, "kind"),
        ({"kind": ["url"]}, "kind"),
        ({"kind": "agent", "url": "http://example.com"}, "unknown key"),
        ("agent", "null"),
    ],
)
def test_a_bad_trigger_is_a_400_naming_the_field_and_changes_nothing(
    api: APIClient, monitor: Monitor, settings: Settings, trigger: object, says: str
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = False

    response = api.patch(url_of(monitor), {"trigger": trigger}, format="json")

    assert response.status_code == 400
    assert says in " ".join(response.json()["trigger"])
    assert not Trigger.objects.filter(monitor=monitor).exists()


def test_run_now_without_a_trigger_is_a_409_with_a_reason(api: APIClient, monitor: Monitor) -> None:
    response = api.post(url_of(monitor, "run/"))

    assert response.status_code == 409
    assert "no trigger" in response.json()["detail"]
    assert not RunRequest.objects.exists()


def test_run_now_creates_a_pending_request_listed_with_who_asked(project: Project, monitor: Monitor) -> None:
    trigger_set(monitor=monitor, spec=TriggerSpec(kind=TriggerKind.AGENT))
    api = make_client(project)

    response = api.post(url_of(monitor, "run/"))

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert {"id", "rid", "status"} <= set(body)
    request = RunRequest.objects.get()
    assert str(request.rid) == body["rid"]
    # Vigil's own rids are version 8: only pings with such a rid look for a request.
    assert uuid.UUID(body["rid"]).version == 8
    assert request.requested_by == "test"  # the key's name
    listed = results(api.get(url_of(monitor, "run-requests/")))
    assert [(item["id"], item["status"], item["requested_by"]) for item in listed] == [
        (body["id"], "pending", "test")
    ]


def test_a_read_only_key_may_not_run_now_or_claim(read_only_api: APIClient, monitor: Monitor) -> None:
    trigger_set(monitor=monitor, spec=TriggerSpec(kind=TriggerKind.AGENT))

    assert read_only_api.post(url_of(monitor, "run/")).status_code == 403
    assert read_only_api.get("/api/v1/agent/claim/?wait=0").status_code == 403
    assert read_only_api.patch(url_of(monitor), {"trigger": None}, format="json").status_code == 403
    assert not RunRequest.objects.exists()
    assert Trigger.objects.filter(monitor=monitor).exists()
    # Reading the requests is allowed.
    assert read_only_api.get(url_of(monitor, "run-requests/")).status_code == 200


def test_another_projects_monitor_is_a_404(api: APIClient) -> None:
    theirs = MonitorFactory.create()
    trigger_set(monitor=theirs, spec=TriggerSpec(kind=TriggerKind.AGENT))

    assert api.post(url_of(theirs, "run/")).status_code == 404
    assert api.get(url_of(theirs, "run-requests/")).status_code == 404
    assert not RunRequest.objects.exists()


def test_the_agent_claims_the_oldest_pending_request_of_its_slugs_once(
    api: APIClient, project: Project
) -> None:
    backup = MonitorFactory.create(project=project, slug="backup")
    report = MonitorFactory.create(project=project, slug="report")
    for each in (backup, report):
        trigger_set(monitor=each, spec=TriggerSpec(kind=TriggerKind.AGENT))
    first_report = api.post(url_of(report, "run/")).json()
    api.post(url_of(backup, "run/"))
    other_project = MonitorFactory.create(slug="report")
    trigger_set(monitor=other_project, spec=TriggerSpec(kind=TriggerKind.AGENT))
    make_client(other_project.project).post(url_of(other_project, "run/"))

    claimed = api.get("/api/v1/agent/claim/", {"wait": "0", "slugs": "report"})

    assert claimed.status_code == 200
    assert claimed.json()["id"] == first_report["id"]
    assert claimed.json()["monitor"]["slug"] == "report"
    assert claimed.json()["status"] == "sent"
    assert RunRequest.objects.get(id=first_report["id"]).status == RunRequestStatus.SENT
    # Nothing else for `report` in this project: the other project's request is not ours.
    assert api.get("/api/v1/agent/claim/", {"wait": "0", "slugs": "report"}).status_code == 204


def test_a_url_triggers_request_is_not_handed_to_an_agent(
    api: APIClient, monitor: Monitor, settings: Settings
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = True
    trigger_set(monitor=monitor, spec=TriggerSpec(kind=TriggerKind.URL, url="http://127.0.0.1:9/"))
    api.post(url_of(monitor, "run/"))

    assert api.get("/api/v1/agent/claim/", {"wait": 0}).status_code == 204


def test_a_bad_claim_wait_is_a_400(api: APIClient) -> None:
    response = api.get("/api/v1/agent/claim/", {"wait": "forever"})

    assert response.status_code == 400
    assert "wait" in response.json()
    assert api.get("/api/v1/agent/claim/", {"wait": 26}).status_code == 400
