"""The channels page: list with secrets masked, add, edit, delete, "Send test", rotate a secret."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from alerts.models import Channel, new_webhook_secret
from monitors.models import Monitor, Project
from tests.alerts.loopback import HttpReceiver, Reply
from tests.api.builders import make_channel
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"


def channels_url(project: Project, rest: str = "") -> str:
    return f"/projects/{project.id}/channels/{rest}"


@pytest.mark.parametrize("rest", ["", "add/webhook/", "1/", "1/delete/"])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, project: Project, rest: str) -> None:
    path = channels_url(project, rest)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_another_projects_channels_are_not_found(signed_in: Client, strangers_monitor: Monitor) -> None:
    theirs = strangers_monitor.project
    channel = make_channel(theirs, name="Their hook")
    assert signed_in.get(channels_url(theirs)).status_code == 404
    for rest in (f"{channel.id}/", f"{channel.id}/delete/"):
        assert signed_in.get(channels_url(theirs, rest)).status_code == 404
    for rest in (f"{channel.id}/test/", f"{channel.id}/rotate-secret/", f"{channel.id}/delete/"):
        assert signed_in.post(channels_url(theirs, rest)).status_code == 404
    assert Channel.objects.filter(id=channel.id).exists()
    # Nor through my project's URL.
    mine = signed_in.get("/").context["access"].project
    assert signed_in.post(channels_url(mine, f"{channel.id}/delete/")).status_code == 404
    assert Channel.objects.filter(id=channel.id).exists()


def test_the_list_masks_secrets(signed_in: Client, project: Project) -> None:
    make_channel(project, kind="slack", name="Ops Slack", config={"url": SLACK_URL})
    make_channel(project, kind="webhook", name="Hook", config={"url": "https://example.com/h/tok3n?sig=abc"})
    make_channel(project, kind="email", name="On call", config={"to": ["ops@example.com"]})
    page = signed_in.get(channels_url(project)).content.decode()
    assert "Ops Slack" in page
    assert "https://hooks.slack.com/…" in page
    assert "XXXXSECRETXXXX" not in page
    assert "T000" not in page
    assert "https://example.com/…" in page
    assert "tok3n" not in page
    assert "sig=abc" not in page
    assert "ops@example.com" in page


def test_adding_a_webhook_shows_its_secret_once(signed_in: Client, project: Project) -> None:
    kept = MonitorFactory.create(project=project, name="Backup")
    MonitorFactory.create(project=project, name="Other")
    response = signed_in.post(
        channels_url(project, "add/webhook/"),
        {"name": "Ops hook", "target": "https://93.184.216.34/hook", "monitors": [kept.id]},
    )
    assert response["Location"] == channels_url(project), "a reload never adds a second channel"
    channel = Channel.objects.get(project=project, name="Ops hook")
    assert channel.kind == "webhook"
    assert list(channel.monitors.all()) == [kept]
    assert channel.secret.startswith("whsec_")
    assert channel.secret in signed_in.get(channels_url(project)).content.decode()
    assert channel.secret not in signed_in.get(channels_url(project)).content.decode()


def test_adding_email_and_slack_channels(signed_in: Client, project: Project) -> None:
    response = signed_in.post(
        channels_url(project, "add/email/"), {"name": "Team", "target": "a@example.com, b@example.com"}
    )
    assert response.status_code == 302
    assert Channel.objects.get(name="Team").config == {"to": ["a@example.com", "b@example.com"]}
    response = signed_in.post(
        channels_url(project, "add/slack/"), {"name": "Slack", "target": "https://93.184.216.34/services/x"}
    )
    assert response.status_code == 302
    assert Channel.objects.get(name="Slack").config == {"url": "https://93.184.216.34/services/x"}


@pytest.mark.parametrize(
    ("kind", "data", "field", "message"),
    [
        ("email", {"name": "x", "target": "not-an-address"}, "target", "not a valid e-mail address"),
        ("webhook", {"name": "x", "target": "ftp://example.com/"}, "target", "only http:// and https://"),
        ("webhook", {"name": "x", "target": "http://127.0.0.1:9/hook"}, "target", "loopback"),
        ("webhook", {"name": "", "target": "https://93.184.216.34/"}, "name", "required"),
        (
            "slack",
            {"name": "x", "target": "https://93.184.216.34/", "reminder_hours": 0},
            "reminder_hours",
            "1",
        ),
    ],
)
def test_bad_input_is_a_field_error_and_adds_nothing(
    signed_in: Client, project: Project, kind: str, data: dict[str, Any], field: str, message: str
) -> None:
    response = signed_in.post(channels_url(project, f"add/{kind}/"), data)
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors[field])
    assert message.lower() in errors.lower()
    assert not Channel.objects.exists()


def test_apprise_is_offered_only_when_enabled(signed_in: Client, project: Project, settings: Any) -> None:
    settings.APPRISE_ENABLED = False
    assert "add/apprise/" not in signed_in.get(channels_url(project)).content.decode()
    assert signed_in.get(channels_url(project, "add/apprise/")).status_code == 404
    settings.APPRISE_ENABLED = True
    assert "add/apprise/" in signed_in.get(channels_url(project)).content.decode()
    response = signed_in.post(
        channels_url(project, "add/apprise/"), {"name": "Ntfy", "target": "ntfy://topic"}
    )
    assert response.status_code == 302
    assert Channel.objects.get(name="Ntfy").config == {"url": "ntfy://topic"}


def test_monitors_of_another_project_cannot_be_chosen(
    signed_in: Client, project: Project, strangers_monitor: Monitor
) -> None:
    response = signed_in.post(
        channels_url(project, "add/email/"),
        {"name": "x", "target": "a@example.com", "monitors": [strangers_monitor.id]},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["monitors"]
    assert not Channel.objects.exists()


def test_editing_keeps_the_url_unless_a_new_one_is_typed(signed_in: Client, project: Project) -> None:
    channel = make_channel(project, kind="slack", name="Old", config={"url": SLACK_URL})
    page = signed_in.get(channels_url(project, f"{channel.id}/")).content.decode()
    assert "XXXXSECRETXXXX" not in page
    response = signed_in.post(channels_url(project, f"{channel.id}/"), {"name": "New", "target": ""})
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.config) == ("New", {"url": SLACK_URL})

    response = signed_in.post(
        channels_url(project, f"{channel.id}/"), {"name": "New", "target": "gopher://x"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["target"]
    channel.refresh_from_db()
    assert channel.config == {"url": SLACK_URL}


def test_deleting_goes_through_a_confirmation(signed_in: Client, project: Project) -> None:
    channel = make_channel(project, name="Doomed")
    page = signed_in.get(channels_url(project, f"{channel.id}/delete/")).content.decode()
    assert "Delete this channel?" in page
    assert Channel.objects.filter(id=channel.id).exists()
    response = signed_in.post(channels_url(project, f"{channel.id}/delete/"))
    assert response["Location"] == channels_url(project)
    assert not Channel.objects.filter(id=channel.id).exists()


def test_the_api_deletes_through_the_same_service(api: APIClient, project: Project) -> None:
    channel = make_channel(project)
    assert api.delete(f"/api/v1/channels/{channel.id}/").status_code == 204
    assert not Channel.objects.filter(id=channel.id).exists()


@pytest.mark.usefixtures("allow_private_addresses")
def test_send_test_shows_the_status_code_inline(
    signed_in: Client, project: Project, loopback_receiver: HttpReceiver
) -> None:
    channel = make_channel(
        project, name="Loop", config={"url": loopback_receiver.url}, secret=new_webhook_secret()
    )
    loopback_receiver.script(Reply(status=200), Reply(status=503, body=b"down for maintenance"))
    url = channels_url(project, f"{channel.id}/test/")

    delivered = signed_in.post(url, headers={"HX-Request": "true"})
    assert delivered.status_code == 200
    assert "Delivered" in delivered.content.decode()
    assert "HTTP 200" in delivered.content.decode()
    assert "<html" not in delivered.content.decode(), "only the partial"
    assert loopback_receiver.requests[0].json()["event"] == "test"

    failed = signed_in.post(url, headers={"HX-Request": "true"}).content.decode()
    assert "Not delivered" in failed
    assert "HTTP 503" in failed

    # Without JavaScript: back to the list, with the outcome as a message.
    response = signed_in.post(url, follow=True)
    assert "delivered (HTTP 200)" in response.content.decode()


def test_send_test_to_a_refused_address_says_why(signed_in: Client, project: Project, settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = False
    channel = make_channel(project, config={"url": "http://127.0.0.1:9/hook"})
    page = signed_in.post(channels_url(project, f"{channel.id}/test/"), headers={"HX-Request": "true"})
    assert "Not delivered" in page.content.decode()
    assert "loopback" in page.content.decode()


def test_rotating_a_secret_shows_the_new_one_once(signed_in: Client, project: Project) -> None:
    channel = make_channel(project, secret="whsec_old")
    response = signed_in.post(channels_url(project, f"{channel.id}/rotate-secret/"), follow=True)
    channel.refresh_from_db()
    assert channel.secret != "whsec_old"
    assert channel.secret.startswith("whsec_")
    assert channel.secret in response.content.decode()
    assert channel.secret not in signed_in.get(channels_url(project)).content.decode()
    email = make_channel(project, kind="email", config={"to": ["a@example.com"]})
    assert signed_in.post(channels_url(project, f"{email.id}/rotate-secret/")).status_code == 404


def test_every_form_carries_a_csrf_token(project: Project, user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    channel = make_channel(project)
    page = client.get(channels_url(project)).content.decode()
    assert page.count("csrfmiddlewaretoken") >= 3  # send test, rotate, (and the header's sign-out)
    assert client.post(channels_url(project, f"{channel.id}/delete/")).status_code == 403
    assert Channel.objects.filter(id=channel.id).exists()
