"""Dispatch and claims: each due row goes out once per claim period, and a dead worker's claim expires."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from alerts.delivery.backoff import retry_delay
from alerts.delivery.dispatch import notifications_dispatch
from alerts.delivery.outbox import notification_deliver
from alerts.delivery.senders.webhook import WebhookSender
from alerts.models import DeliveryAttempt, Notification
from tests.alerts.delivery.outbox_rows import deliver_due, problem, webhook_channel
from tests.alerts.loopback import HttpReceiver, Reply

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]


def handed_out() -> list[tuple[int, int]]:
    rows: list[tuple[int, int]] = []
    notifications_dispatch(enqueue=lambda notification_id, attempts: rows.append((notification_id, attempts)))
    return rows


def test_a_due_row_is_handed_out_once_per_claim_period(
    project: Any, receiver: HttpReceiver, settings: Any
) -> None:
    settings.NOTIFICATION_CLAIM_SECONDS = 30
    with time_machine.travel(timezone.now(), tick=False) as clock:
        notification = problem(webhook_channel(project, receiver.url))
        assert handed_out() == [(notification.id, 0)]
        assert handed_out() == []
        # The task was lost in the broker: the row comes due again.
        clock.shift(31)
        assert handed_out() == [(notification.id, 0)]


def test_rows_not_yet_due_are_left_alone(project: Any, receiver: HttpReceiver) -> None:
    notification = problem(webhook_channel(project, receiver.url))
    Notification.objects.filter(id=notification.id).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    assert handed_out() == []


def test_a_duplicate_task_cannot_send_again(project: Any, receiver: HttpReceiver) -> None:
    notification = problem(webhook_channel(project, receiver.url))
    assert notification_deliver(notification_id=notification.id, attempt_count=0)
    assert not notification_deliver(notification_id=notification.id, attempt_count=0)
    assert len(receiver.requests) == 1


def test_a_stale_task_cannot_claim_a_row_waiting_for_its_retry(
    project: Any, receiver: HttpReceiver, settings: Any
) -> None:
    receiver.script(Reply(503))
    notification = problem(webhook_channel(project, receiver.url))
    assert notification_deliver(notification_id=notification.id, attempt_count=0)
    # A second copy of the same task, enqueued before the first attempt, arrives late.
    assert not notification_deliver(notification_id=notification.id, attempt_count=0)
    notification.refresh_from_db()
    assert (notification.status, notification.attempt_count) == ("retrying", 1)
    assert len(receiver.requests) == 1


def test_a_claim_whose_worker_died_expires_and_the_row_is_sent_again(
    project: Any, receiver: HttpReceiver, settings: Any
) -> None:
    settings.NOTIFICATION_CLAIM_SECONDS = 30
    with time_machine.travel(timezone.now(), tick=False) as clock:
        notification = problem(webhook_channel(project, receiver.url))
        # A worker claimed it (as notification_deliver does) and died before recording anything.
        Notification.objects.filter(id=notification.id).update(
            claimed_until=timezone.now() + timedelta(seconds=30), attempt_count=1
        )
        assert deliver_due() == 0
        clock.shift(29)
        assert deliver_due() == 0
        clock.shift(2)
        assert deliver_due() == 1

    notification.refresh_from_db()
    assert notification.status == "delivered"
    assert notification.claimed_until is None
    assert [r.headers["webhook-id"] for r in receiver.requests] == [notification.message_id]


class WorkerDied(BaseException):
    """Raised inside a send: the worker is gone before it records anything (not an Exception,
    so the delivery's own error handling does not catch it)."""


def test_a_claim_taken_by_a_delivery_expires_and_the_row_is_sent_again(
    project: Any, receiver: HttpReceiver, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.NOTIFICATION_CLAIM_SECONDS = 30
    with time_machine.travel(timezone.now(), tick=False) as clock:
        notification = problem(webhook_channel(project, receiver.url))

        def die(self: WebhookSender, channel: Any, message: Any) -> None:
            raise WorkerDied

        with monkeypatch.context() as patch:
            patch.setattr(WebhookSender, "send", die)
            with pytest.raises(WorkerDied):
                notification_deliver(notification_id=notification.id, attempt_count=0)
        # The claim as the delivery wrote it reads back exactly, and the dispatcher honours it.
        notification.refresh_from_db()
        assert (notification.attempt_count, notification.claimed_until) == (
            1,
            timezone.now() + timedelta(seconds=30),
        )
        clock.shift(29)
        assert deliver_due() == 0
        clock.shift(2)
        assert deliver_due() == 1

    notification.refresh_from_db()
    assert (notification.status, notification.attempt_count, notification.claimed_until) == (
        "delivered",
        2,
        None,
    )
    assert [r.headers["webhook-id"] for r in receiver.requests] == [notification.message_id]


def test_a_failed_attempt_and_its_retry_time_are_stored_as_the_orm_stores_times(
    project: Any, receiver: HttpReceiver
) -> None:
    receiver.script(Reply(503))
    with time_machine.travel(timezone.now(), tick=False):
        notification = problem(webhook_channel(project, receiver.url))
        assert notification_deliver(notification_id=notification.id, attempt_count=0)
        now = timezone.now()
    notification.refresh_from_db()
    assert (notification.status, notification.next_attempt_at, notification.claimed_until) == (
        "retrying",
        now + retry_delay(1),
        None,
    )
    # Stored as the ORM stores times, so its filters match them (SQLite compares text).
    assert Notification.objects.filter(id=notification.id, next_attempt_at=now + retry_delay(1)).exists()
    attempt = DeliveryAttempt.objects.get(notification=notification, at=now)
    assert (attempt.at, attempt.status_code, attempt.error) == (now, 503, "HTTP 503: ok")
