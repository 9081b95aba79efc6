"""A real Celery worker killed mid-delivery: a new worker delivers, under the same webhook-id."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.models import Notification
from monitorsite.celery import app as celery_app
from tests.alerts.delivery.celery_workers import CLAIM_SECONDS, Workers, dispatch_until
from tests.alerts.delivery.outbox_rows import problem, webhook_channel
from tests.alerts.loopback import HttpReceiver, Reply
from tests.factories import ProjectFactory


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_is_replaced_and_the_delivery_keeps_its_id(
    settings: Any, receiver: HttpReceiver, workers: Workers
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = True
    settings.NOTIFICATION_CLAIM_SECONDS = CLAIM_SECONDS
    # The first POST hangs long enough for its worker to be killed mid-send.
    receiver.script(Reply(200, delay=5))
    notification = problem(webhook_channel(ProjectFactory.create(), receiver.url))
    celery_app.control.purge()

    first = workers.start()
    assert dispatch_until(lambda: len(receiver.requests) >= 1, timeout=30), workers.logs()
    workers.kill(first)

    workers.start()

    def delivered() -> bool:
        notification.refresh_from_db()
        return notification.status == "delivered"

    assert dispatch_until(delivered, timeout=30), workers.logs()
    assert len(receiver.requests) >= 2
    assert {request.headers["webhook-id"] for request in receiver.requests} == {notification.message_id}
    # The killed attempt left no record; the one that got through did.
    assert list(notification.attempts.values_list("status_code", flat=True)) == [200]
    assert Notification.objects.get(id=notification.id).attempt_count == 2
