"""A monitor's runbook URL and description reach whoever is alerted: Slack, e-mail, webhook (issue 15)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from monitors.models import Monitor, Project
from tests.alerts.delivery.outbox_rows import (
    also_to,
    deliver_due,
    email_channel,
    problem,
    recovered,
    slack_channel,
    webhook_channel,
)
from tests.alerts.loopback import HttpReceiver, SmtpSink, text_and_html
from tests.api.timeline import run_sweeper
from tests.clock import Clock
from tests.conftest import make_client
from tests.factories import MonitorFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]

RUNBOOK = "https://wiki.example.com/runbooks/backup?step=restore&env=prod"
DESCRIPTION = "Copies the orders database to S3 every night.\nIf it fails: check the disk on db1."


@pytest.fixture
def backup(project: Project) -> Monitor:
    return MonitorFactory.create(
        project=project, name="Nightly backup", description=DESCRIPTION, runbook_url=RUNBOOK
    )


def drain() -> None:
    while deliver_due():
        pass


def test_webhook_payload_carries_runbook_and_description(
    project: Project, backup: Monitor, receiver: HttpReceiver
) -> None:
    notification = problem(webhook_channel(project, receiver.url), monitor=backup)
    recovered(notification.channel, notification.incident, at=timezone.now())
    drain()
    sent = [request.json() for request in receiver.requests]
    assert [event["event"] for event in sent] == ["problem", "recovered"]
    for event in sent:
        assert event["monitor"]["runbook_url"] == RUNBOOK
        assert event["monitor"]["description"] == DESCRIPTION


def test_slack_message_links_the_runbook_and_shows_the_description(
    project: Project, backup: Monitor, receiver: HttpReceiver
) -> None:
    problem(slack_channel(project, receiver.url), monitor=backup)
    drain()
    blocks = json.dumps(receiver.requests[0].json()["blocks"], ensure_ascii=False)
    # Slack's mrkdwn: & escaped, the URL a link.
    assert "<https://wiki.example.com/runbooks/backup?step=restore&amp;env=prod|" in blocks
    assert "*Runbook:*" in blocks
    assert "Copies the orders database to S3 every night." in blocks
    assert "check the disk on db1" in blocks


def test_email_text_and_html_carry_runbook_and_description(
    project: Project, backup: Monitor, smtp_sink: SmtpSink
) -> None:
    problem(email_channel(project), monitor=backup)
    drain()
    text, html = text_and_html(smtp_sink.messages[0])
    assert f"Runbook: {RUNBOOK}" in text
    assert DESCRIPTION in text.replace("\r\n", "\n")
    assert 'href="https://wiki.example.com/runbooks/backup?step=restore&amp;env=prod"' in html
    assert "Copies the orders database to S3 every night." in html


def test_digests_keep_each_runbook(project: Project, smtp_sink: SmtpSink, receiver: HttpReceiver) -> None:
    mail, slack = email_channel(project), slack_channel(project, receiver.url)
    for n in range(11):
        monitor = MonitorFactory.create(
            project=project, name=f"Job {n:02}", runbook_url=f"https://wiki.example.com/job-{n}"
        )
        also_to(slack, problem(mail, monitor=monitor, detail=f"problem {n}"))
    drain()
    text, html = text_and_html(smtp_sink.messages[0])
    assert all(f"Runbook: https://wiki.example.com/job-{n}" in text for n in range(11))
    assert all(f'href="https://wiki.example.com/job-{n}"' in html for n in range(11))
    (request,) = receiver.requests
    listed = json.dumps(request.json()["blocks"])
    assert all(f"<https://wiki.example.com/job-{n}|runbook>" in listed for n in range(11))


def test_without_runbook_or_description_nothing_empty_is_shown(
    project: Project, smtp_sink: SmtpSink, receiver: HttpReceiver
) -> None:
    plain = MonitorFactory.create(project=project, name="Plain job")
    also_to(slack_channel(project, receiver.url), problem(email_channel(project), monitor=plain))
    drain()
    text, html = text_and_html(smtp_sink.messages[0])
    assert "Runbook" not in text
    assert "Runbook" not in html
    assert "Runbook" not in json.dumps(receiver.requests[0].json())


def test_events_stored_before_runbooks_still_render(
    project: Project, backup: Monitor, smtp_sink: SmtpSink
) -> None:
    notification = problem(email_channel(project), monitor=backup)
    for key in ("runbook_url", "description"):
        del notification.payload["monitor"][key]
    notification.save()
    drain()
    text, _ = text_and_html(smtp_sink.messages[0])
    assert "Nightly backup" in text
    assert "Runbook" not in text


def test_the_detection_engine_puts_them_in_the_event(
    clock: Clock, client: Client, project: Project, receiver: HttpReceiver
) -> None:
    webhook_channel(project, receiver.url)
    # Made through the API, as a user would.
    body = (
        make_client(project)
        .post(
            "/api/v1/monitors/",
            {"name": "Billing export", "description": DESCRIPTION, "runbook_url": RUNBOOK},
            format="json",
        )
        .json()
    )
    monitor = Monitor.objects.get(id=body["id"])
    clock.at(10)
    assert client.post(f"/ping/{monitor.ping_uuid}/fail").status_code == 200
    run_sweeper()
    drain()
    [event] = [request.json() for request in receiver.requests]
    assert (event["event"], event["monitor"]["runbook_url"]) == ("problem", RUNBOOK)
    assert event["monitor"]["description"] == DESCRIPTION
