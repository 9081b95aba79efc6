"""`/api/v1/channels/`: CRUD, validation, test notifications, secret rotation, scoping."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from alerts.models import Channel
from monitors.models import Project
from tests.alerts.loopback import HttpReceiver, Reply
from tests.conftest import make_client, results
from tests.factories import MonitorFactory, ProjectFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/channels/"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


@pytest.fixture
def allow_private(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = True


def create(api: APIClient, **body: Any) -> Any:
    return api.post(URL, body, format="json")


def test_create_a_webhook_channel_shows_its_secret_once(api: APIClient, project: Project) -> None:
    monitors = [MonitorFactory.create(project=project), MonitorFactory.create(project=project)]
    response = create(api, kind="webhook", name="Ops hook", config={"url": "https://93.184.216.34/hook"})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "webhook"
    assert body["config"] == {"url": "https://93.184.216.34/hook"}
    assert sorted(body["monitors"]) == sorted(m.id for m in monitors), "every monitor, unless told"
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    assert Channel.objects.get(id=body["id"]).secret == body["secret"]

    assert "secret" not in api.get(f"{URL}{body['id']}/").json()
    assert all("secret" not in channel for channel in results(api.get(URL)))


def test_create_email_and_slack_channels(api: APIClient, project: Project) -> None:
    monitor = MonitorFactory.create(project=project)
    email = create(
        api, kind="email", name="Ops", config={"to": ["ops@example.com"]}, reminder_hours=4, monitors=[]
    )
    slack = create(api, kind="slack", name="#ops", config={"url": "https://93.184.216.34/services/T/B/X"})

    assert email.status_code == 201, email.json()
    assert email.json()["reminder_hours"] == 4
    assert email.json()["monitors"] == []
    assert "secret" not in email.json()
    assert slack.status_code == 201, slack.json()
    assert slack.json()["monitors"] == [monitor.id]
    listed = api.get(URL).json()
    assert listed["count"] == 2
    assert [c["name"] for c in listed["results"]] == ["Ops", "#ops"]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"kind": "sms", "name": "x", "config": {}}, {"kind": ['"sms" is not a valid choice.']}),
        (
            {"kind": "email", "name": "x", "config": {"to": ["ops@example.com", "not-an-address"]}},
            {"config": {"to": ["'not-an-address' is not a valid e-mail address."]}},
        ),
        (
            {"kind": "email", "name": "x", "config": {"to": []}},
            {"config": {"to": ["A list of one or more e-mail addresses."]}},
        ),
        (
            {"kind": "slack", "name": "x", "config": {"url": "ftp://example.com/x"}},
            {"config": {"url": ["only http:// and https:// URLs are allowed"]}},
        ),
        ({"kind": "webhook", "name": "x", "config": {}}, {"config": {"url": ["A URL is required."]}}),
        (
            {"kind": "webhook", "name": "x", "config": {"url": "http://127.0.0.1:8000/hook"}},
            {
                "config": {
                    "url": ["refused: 127.0.0.1 is a loopback address (WEBHOOKS_ALLOW_PRIVATE_IPS is off)"]
                }
            },
        ),
        (
            {"kind": "webhook", "name": "x", "config": {"url": "http://169.254.169.254/latest/meta-data"}},
            {
                "config": {
                    "url": [
                        "refused: 169.254.169.254 is a link-local address (WEBHOOKS_ALLOW_PRIVATE_IPS is off)"
                    ]
                }
            },
        ),
        (
            {"kind": "apprise", "name": "x", "config": {"url": "json://example.com"}},
            {"kind": ["Apprise channels are disabled on this server."]},
        ),
        (
            {"kind": "email", "name": "x", "config": {"to": ["a@example.com"]}, "reminder_hours": 0},
            {"reminder_hours": ["Ensure this value is greater than or equal to 1."]},
        ),
    ],
)
def test_invalid_channels_are_rejected_field_by_field(api: APIClient, body: Any, errors: Any) -> None:
    response = create(api, **body)
    assert response.status_code == 400
    assert response.json() == errors


def test_a_name_resolving_to_a_private_address_is_rejected(api: APIClient) -> None:
    response = create(api, kind="slack", name="x", config={"url": "http://localhost/hook"})
    assert response.status_code == 400
    assert "is a loopback address" in response.json()["config"]["url"][0]


@pytest.mark.usefixtures("allow_private")
def test_private_addresses_are_accepted_when_allowed(api: APIClient) -> None:
    response = create(api, kind="webhook", name="x", config={"url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 201


def test_apprise_channels_when_enabled(api: APIClient, settings: Any) -> None:
    settings.APPRISE_ENABLED = True
    assert (
        create(api, kind="apprise", name="ntfy", config={"url": "ntfys://ntfy.sh/vigil-test"}).status_code
        == 201
    )
    response = create(api, kind="apprise", name="bad", config={"url": "nonsense"})
    assert response.status_code == 400
    assert response.json() == {"config": {"url": ["Apprise does not understand this URL."]}}


def test_monitors_of_another_project_cannot_be_attached(api: APIClient) -> None:
    foreign = MonitorFactory.create(project=ProjectFactory.create())
    response = create(api, kind="email", name="x", config={"to": ["a@example.com"]}, monitors=[foreign.id])
    assert response.status_code == 400
    assert "monitors" in response.json()


def test_update_and_delete(api: APIClient, project: Project) -> None:
    monitor = MonitorFactory.create(project=project)
    created = create(api, kind="email", name="Ops", config={"to": ["ops@example.com"]}).json()
    url = f"{URL}{created['id']}/"

    patched = api.patch(
        url, {"name": "On call", "config": {"to": ["oncall@example.com"]}, "monitors": []}, format="json"
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["name"] == "On call"
    assert patched.json()["config"] == {"to": ["oncall@example.com"]}
    assert patched.json()["monitors"] == []
    assert list(monitor.channels.all()) == []

    bad = api.patch(url, {"config": {"to": ["nope"]}}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"config": {"to": ["'nope' is not a valid e-mail address."]}}
    kind = api.patch(url, {"kind": "slack"}, format="json")
    assert kind.status_code == 400
    assert "kind" in kind.json()

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


@pytest.mark.usefixtures("allow_private")
def test_test_notification_to_a_webhook(api: APIClient, receiver: HttpReceiver) -> None:
    created = create(api, kind="webhook", name="hook", config={"url": receiver.url}).json()

    response = api.post(f"{URL}{created['id']}/test/")

    assert response.status_code == 200
    assert response.json() == {"delivered": True, "status_code": 200, "error": None}
    (request,) = receiver.requests
    assert request.json()["event"] == "test"
    assert request.json()["monitor"] is None
    assert request.headers["webhook-id"].startswith("msg_")


@pytest.mark.usefixtures("allow_private")
def test_test_notification_reports_a_failure(api: APIClient, receiver: HttpReceiver) -> None:
    receiver.script(Reply(500, b"down for maintenance"))
    created = create(api, kind="slack", name="slack", config={"url": receiver.url}).json()

    response = api.post(f"{URL}{created['id']}/test/")

    assert response.status_code == 200
    assert response.json() == {
        "delivered": False,
        "status_code": 500,
        "error": "HTTP 500: down for maintenance",
    }
    assert receiver.requests[0].json()["blocks"][0]["text"]["text"] == "[TEST] Vigil test notification"


def test_test_notification_by_email(api: APIClient) -> None:
    created = create(api, kind="email", name="Ops", config={"to": ["ops@example.com"]}).json()
    response = api.post(f"{URL}{created['id']}/test/")
    assert response.json() == {"delivered": True, "status_code": None, "error": None}
    (message,) = mail.outbox
    assert message.subject == "[TEST] Vigil test notification"
    assert message.to == ["ops@example.com"]


def test_test_notification_to_a_refused_address(api: APIClient, project: Project) -> None:
    channel = Channel.objects.create(
        project=project, kind="webhook", name="x", config={"url": "http://127.0.0.1:1/"}
    )
    response = api.post(f"{URL}{channel.id}/test/")
    assert response.json()["delivered"] is False
    assert response.json()["error"].startswith("refused: 127.0.0.1 is a loopback address")


def test_rotate_secret(api: APIClient) -> None:
    created = create(api, kind="webhook", name="hook", config={"url": "https://93.184.216.34/"}).json()
    response = api.post(f"{URL}{created['id']}/rotate-secret/")
    assert response.status_code == 200
    secret = response.json()["secret"]
    assert secret.startswith("whsec_")
    assert secret != created["secret"]
    assert Channel.objects.get(id=created["id"]).secret == secret

    email = create(api, kind="email", name="Ops", config={"to": ["ops@example.com"]}).json()
    assert api.post(f"{URL}{email['id']}/rotate-secret/").status_code == 400


def test_another_projects_channel_is_not_found(api: APIClient) -> None:
    other = make_client(ProjectFactory.create())
    created = create(other, kind="webhook", name="theirs", config={"url": "https://93.184.216.34/"}).json()
    url = f"{URL}{created['id']}/"

    assert api.get(url).status_code == 404
    assert api.patch(url, {"name": "mine"}, format="json").status_code == 404
    assert api.delete(url).status_code == 404
    assert api.post(f"{url}test/").status_code == 404
    assert api.post(f"{url}rotate-secret/").status_code == 404
    assert results(api.get(URL)) == []


def test_read_only_keys_read_but_do_not_write(api: APIClient, read_only_api: APIClient) -> None:
    created = create(api, kind="webhook", name="hook", config={"url": "https://93.184.216.34/"}).json()
    url = f"{URL}{created['id']}/"

    assert read_only_api.get(URL).status_code == 200
    assert read_only_api.get(url).status_code == 200
    assert "secret" not in read_only_api.get(url).json()
    assert create(read_only_api, kind="email", name="x", config={"to": ["a@example.com"]}).status_code == 403
    assert read_only_api.patch(url, {"name": "x"}, format="json").status_code == 403
    assert read_only_api.delete(url).status_code == 403
    assert read_only_api.post(f"{url}test/").status_code == 403
    assert read_only_api.post(f"{url}rotate-secret/").status_code == 403


def test_no_key_no_channels() -> None:
    assert APIClient().get(URL).status_code in (401, 403)


def test_the_schema_documents_channels(client: Any) -> None:
    schema = client.get("/api/v1/schema/").content.decode()
    assert "/api/v1/channels/{id}/rotate-secret/" in schema
    assert "/api/v1/channels/{id}/test/" in schema
