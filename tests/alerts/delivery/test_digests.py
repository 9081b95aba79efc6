"""Alert storms: many problems for one e-mail or Slack channel at once become one digest."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.utils import timezone

from alerts.models import Channel, Notification
from tests.alerts.delivery.outbox_rows import deliver_due, email_channel, problem, slack_channel
from tests.alerts.loopback import HttpReceiver, Reply, SmtpSink, text_and_html
from tests.factories import MonitorFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]


def storm(channel: Channel, size: int) -> list[Notification]:
    return [
        problem(
            channel,
            monitor=MonitorFactory.create(project=channel.project, name=f"Job {n:02}"),
            detail=f"problem {n}",
        )
        for n in range(size)
    ]


def drain() -> None:
    while deliver_due():
        pass


def test_more_than_ten_problems_on_slack_become_one_digest(project: Any, receiver: HttpReceiver) -> None:
    rows = storm(slack_channel(project, receiver.url), 12)
    drain()

    (request,) = receiver.requests
    body = request.json()
    assert body["text"] == f"12 monitors reported problems in {project.name}"
    listed = "".join(block["text"]["text"] for block in body["blocks"][1:])
    assert all(f"Job {n:02}" in listed and f"problem {n}" in listed for n in range(12))
    leader = rows[0]
    for row in rows:
        row.refresh_from_db()
        assert row.status == "delivered"
        assert row.digest_id == leader.id
        (attempt,) = row.attempts.all()
        assert attempt.status_code == 200


def test_more_than_ten_problems_by_email_become_one_digest(project: Any, smtp_sink: SmtpSink) -> None:
    storm(email_channel(project), 11)
    drain()

    (message,) = smtp_sink.messages
    assert message["Subject"] == f"[DOWN] 11 monitors reported problems in {project.name}"
    text, html = text_and_html(message)
    assert all(f"Job {n:02}: problem {n}" in text for n in range(11))
    assert "Job 10" in html
    assert set(Notification.objects.values_list("status", flat=True)) == {"delivered"}


def test_ten_problems_are_sent_one_by_one(project: Any, receiver: HttpReceiver) -> None:
    storm(slack_channel(project, receiver.url), 10)
    drain()
    assert len(receiver.requests) == 10
    assert not Notification.objects.filter(digest__isnull=False).exists()


def test_problems_trickling_into_a_storm_are_folded_too(project: Any, receiver: HttpReceiver) -> None:
    channel = slack_channel(project, receiver.url)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        storm(channel, 9)
        drain()
        clock.shift(10)
        storm(channel, 3)
        drain()
    # Nine alone, then the three that made it a storm within 30 s as one digest.
    assert len(receiver.requests) == 10
    assert receiver.requests[-1].json()["text"].startswith("3 monitors reported problems")


def test_a_failed_digest_is_retried_for_every_member(
    project: Any, receiver: HttpReceiver, settings: Any
) -> None:
    settings.NOTIFICATION_RETRY_DELAYS = [30]
    receiver.script(Reply(500))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        rows = storm(slack_channel(project, receiver.url), 11)
        drain()
        assert set(Notification.objects.values_list("status", flat=True)) == {"retrying"}
        clock.shift(30)
        drain()

    assert len(receiver.requests) == 2
    for row in rows:
        row.refresh_from_db()
        assert row.status == "delivered"
        assert list(row.attempts.order_by("id").values_list("status_code", flat=True)) == [500, 200]
