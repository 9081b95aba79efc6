"""Webhooks: signed JSON per transition, retried with backoff, refused on private addresses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from alerts.models import Notification
from tests.alerts.delivery.outbox_rows import deliver_due, problem, recovered, webhook_channel
from tests.alerts.loopback import HttpReceiver, Reply, free_port
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The receiver's side of https://www.standardwebhooks.com/, written from the spec."""
    timestamp = int(headers["webhook-timestamp"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    signed_content = f"{headers['webhook-id']}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed_content, hashlib.sha256).digest()).decode()
    candidates = headers["webhook-signature"].split(" ")
    return any(
        version == "v1" and hmac.compare_digest(signature, expected)
        for version, _, signature in (candidate.partition(",") for candidate in candidates)
    )


def statuses(notification: Notification) -> list[Any]:
    return list(notification.attempts.order_by("id").values_list("status_code", flat=True))


@pytest.mark.usefixtures("allow_private")
def test_problem_is_posted_as_signed_json_and_recorded(project: Any, receiver: HttpReceiver) -> None:
    channel = webhook_channel(project, receiver.url)
    notification = problem(channel, kind="failed", detail="failed with exit code 3")

    assert deliver_due() == 1

    (request,) = receiver.requests
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == notification.message_id
    assert verify_standard_webhook(channel.secret, request.headers, request.body)
    assert not verify_standard_webhook(
        "whsec_" + base64.b64encode(b"x" * 32).decode(), request.headers, request.body
    )
    assert request.json() == notification.payload
    assert request.json()["problem"] == {"kind": "failed", "detail": "failed with exit code 3"}
    notification.refresh_from_db()
    assert notification.status == "delivered"
    (attempt,) = notification.attempts.all()
    assert (attempt.status_code, attempt.error) == (200, "")
    assert attempt.latency_ms >= 0


@pytest.mark.usefixtures("allow_private")
def test_recovery_is_its_own_event(project: Any, receiver: HttpReceiver) -> None:
    channel = webhook_channel(project, receiver.url)
    first = problem(channel)
    deliver_due()
    second = recovered(channel, first.incident, at=timezone.now() + timedelta(hours=2))
    with time_machine.travel(second.created_at, tick=False):
        deliver_due()

    assert [r.json()["event"] for r in receiver.requests] == ["problem", "recovered"]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 2
    assert receiver.requests[1].json()["incident"]["down_for_seconds"] == 7200


@pytest.mark.usefixtures("allow_private")
def test_500_twice_then_200_is_delivered_on_the_third_attempt(
    project: Any, receiver: HttpReceiver, settings: Any
) -> None:
    settings.NOTIFICATION_RETRY_DELAYS = [30, 120]
    receiver.script(Reply(500, b"boom"), Reply(500, b"boom"))
    channel = webhook_channel(project, receiver.url)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        notification = problem(channel)
        deliver_due()
        notification.refresh_from_db()
        assert (notification.status, notification.attempt_count) == ("retrying", 1)
        assert notification.next_attempt_at == timezone.now() + timedelta(seconds=30)

        clock.shift(29)
        assert deliver_due() == 0
        clock.shift(1)
        deliver_due()
        notification.refresh_from_db()
        assert notification.status == "retrying"
        assert notification.next_attempt_at == timezone.now() + timedelta(seconds=120)

        clock.shift(120)
        deliver_due()

    notification.refresh_from_db()
    assert notification.status == "delivered"
    assert statuses(notification) == [500, 500, 200]
    assert notification.attempts.order_by("id").first().error == "HTTP 500: boom"  # type: ignore[union-attr]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {notification.message_id}


@pytest.mark.usefixtures("allow_private")
@pytest.mark.parametrize("status", [429, 502, 503])
def test_429_and_5xx_are_retried(project: Any, receiver: HttpReceiver, status: int) -> None:
    receiver.script(Reply(status))
    notification = problem(webhook_channel(project, receiver.url))
    deliver_due()
    notification.refresh_from_db()
    assert notification.status == "retrying"


@pytest.mark.usefixtures("allow_private")
@pytest.mark.parametrize("status", [400, 404, 410])
def test_other_4xx_fail_permanently(project: Any, receiver: HttpReceiver, status: int) -> None:
    receiver.script(Reply(status, b"no such hook"))
    notification = problem(webhook_channel(project, receiver.url))
    deliver_due()
    notification.refresh_from_db()
    assert (notification.status, notification.next_attempt_at) == ("failed", None)
    assert statuses(notification) == [status]
    assert notification.attempts.get().error == f"HTTP {status}: no such hook"
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert deliver_due() == 0
    assert len(receiver.requests) == 1


@pytest.mark.usefixtures("allow_private")
def test_a_receiver_that_cannot_be_reached_is_retried(project: Any) -> None:
    notification = problem(webhook_channel(project, f"http://127.0.0.1:{free_port()}/hook"))
    deliver_due()
    notification.refresh_from_db()
    assert notification.status == "retrying"
    attempt = notification.attempts.get()
    assert attempt.status_code is None
    assert "could not connect to 127.0.0.1" in attempt.error


@pytest.mark.usefixtures("allow_private")
def test_retries_stop_when_the_retry_window_closes(
    project: Any, receiver: HttpReceiver, settings: Any
) -> None:
    settings.NOTIFICATION_RETRY_DELAYS = [30, 60]
    settings.NOTIFICATION_RETRY_WINDOW_SECONDS = 150
    receiver.script(*[Reply(503)] * 10)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        notification = problem(webhook_channel(project, receiver.url))
        for _ in range(5):
            deliver_due()
            clock.shift(61)
    notification.refresh_from_db()
    # Attempts at 0, 61 and 122 s; the next (at 183 s) would fall outside the window.
    assert notification.status == "failed"
    assert statuses(notification) == [503, 503, 503]


def test_loopback_is_refused_while_private_addresses_are_off(project: Any, receiver: HttpReceiver) -> None:
    notification = problem(webhook_channel(project, receiver.url))

    deliver_due()

    notification.refresh_from_db()
    assert notification.status == "failed"
    assert notification.attempts.get().error.startswith("refused: 127.0.0.1 is a loopback address")
    assert receiver.requests == []


@pytest.mark.usefixtures("allow_private")
def test_webhooks_get_one_event_per_transition_even_in_a_storm(project: Any, receiver: HttpReceiver) -> None:
    channel = webhook_channel(project, receiver.url)
    rows = [problem(channel, monitor=MonitorFactory.create(project=project)) for _ in range(12)]
    while deliver_due():
        pass
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(n.message_id for n in rows)
    assert Notification.objects.filter(digest__isnull=False).count() == 0
