"""Apprise channels deliver through Apprise itself (here its json:// plugin to a loopback receiver)."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.channels import channel_create
from tests.alerts.delivery.outbox_rows import deliver_due, problem
from tests.alerts.loopback import HttpReceiver, Reply

pytestmark = pytest.mark.django_db


def test_problem_goes_out_through_apprise(project: Any, receiver: HttpReceiver) -> None:
    channel = channel_create(
        project=project, kind="apprise", name="ntfy", config={"url": f"json://127.0.0.1:{receiver.port}/hook"}
    )
    notification = problem(channel, detail="failed with exit code 3")
    deliver_due()

    notification.refresh_from_db()
    assert notification.status == "delivered"
    body = receiver.requests[0].json()
    assert body["title"].startswith("[DOWN] ")
    assert "failed with exit code 3" in body["message"]


def test_an_apprise_failure_is_retried(project: Any, receiver: HttpReceiver) -> None:
    receiver.script(Reply(500))
    channel = channel_create(
        project=project, kind="apprise", name="ntfy", config={"url": f"json://127.0.0.1:{receiver.port}/hook"}
    )
    notification = problem(channel)
    deliver_due()
    notification.refresh_from_db()
    assert notification.status == "retrying"
    assert notification.attempts.get().error
