"""`/healthz` covers deliveries (CONTRACT §5, issue 15): a dead delivery worker or a backlog is a 503."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from alerts.delivery.health import outbox_backlog, outbox_oldest_seconds
from alerts.delivery.heartbeat import delivery_heartbeat_record
from alerts.delivery.tasks import deliver_notification, delivery_heartbeat
from alerts.models import DeliveryStatus, Notification, WorkerHeartbeat
from alerts.sweeper import sweep
from monitorsite.celery import app as celery_app
from tests.alerts.delivery.celery_workers import Workers, dispatch_until
from tests.alerts.delivery.outbox_rows import deliver_due, problem, webhook_channel
from tests.alerts.loopback import HttpReceiver
from tests.factories import ProjectFactory

pytestmark = pytest.mark.usefixtures("allow_private")

T0 = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)


def health(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/healthz")
    return response.status_code, response.json()


def all_alive() -> None:
    """A sweep and a delivery worker's beat, both now."""
    sweep()
    delivery_heartbeat.apply()


@pytest.mark.django_db
@time_machine.travel(T0, tick=False)
def test_no_delivery_worker_ever_is_a_503_naming_it(client: Client) -> None:
    sweep()
    status, body = health(client)
    assert status == 503
    assert body["delivery_age_s"] is None
    assert body["reason"] == "delivery: no delivery worker has reported yet"
    delivery_heartbeat.apply()
    assert health(client) == (
        200,
        {
            "status": "ok",
            "database": "ok",
            "sweeper_age_s": 0.0,
            "delivery_age_s": 0.0,
            "outbox_oldest_s": 0.0,
            "sweeper_failing": 0,
        },
    )


@pytest.mark.django_db
def test_a_silent_delivery_worker_turns_503_then_back(client: Client, settings: Any) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        all_alive()
        assert health(client)[0] == 200
        traveller.move_to(T0 + timedelta(seconds=61))
        sweep()  # the sweeper is alive: only deliveries are in trouble
        status, body = health(client)
        assert status == 503
        assert body["delivery_age_s"] == 61.0
        assert body["reason"] == "delivery: no delivery worker reported for 61 s (limit 60 s)"
        assert body["sweeper_age_s"] == 0.0
        delivery_heartbeat.apply()
        assert health(client)[0] == 200
        settings.HEALTH_DELIVERY_MAX_AGE = 5
        traveller.move_to(T0 + timedelta(seconds=61 + 6))
        sweep()
        assert "limit 5 s" in health(client)[1]["reason"]


@pytest.mark.django_db
@time_machine.travel(T0, tick=False)
def test_each_delivery_reports_too(client: Client, receiver: HttpReceiver) -> None:
    notification = problem(webhook_channel(ProjectFactory.create(), receiver.url))
    deliver_notification.apply(args=(notification.id, 0))
    sweep()
    assert health(client)[0] == 200
    assert receiver.requests


@pytest.mark.django_db
def test_a_backlog_turns_503_naming_the_outbox_then_back(client: Client, receiver: HttpReceiver) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        notification = problem(webhook_channel(ProjectFactory.create(), receiver.url), at=T0)
        for seconds in (100, 200, 301):
            traveller.move_to(T0 + timedelta(seconds=seconds))
            all_alive()
            # The dispatcher keeps handing the row out, but no worker takes it.
            Notification.objects.filter(id=notification.id).update(
                next_attempt_at=timezone.now() + timedelta(seconds=30)
            )
        status, body = health(client)
        assert status == 503
        assert body["outbox_oldest_s"] == 301.0
        assert body["reason"] == "outbox: a due notification has waited 301 s (limit 300 s)"
        Notification.objects.filter(id=notification.id).update(next_attempt_at=timezone.now())
        assert deliver_due() == 1
        assert health(client) == (
            200,
            {
                "status": "ok",
                "database": "ok",
                "sweeper_age_s": 0.0,
                "delivery_age_s": 0.0,
                "outbox_oldest_s": 0.0,
                "sweeper_failing": 0,
            },
        )


@pytest.mark.django_db
def test_both_troubles_are_named_together(client: Client, receiver: HttpReceiver) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        all_alive()
        problem(webhook_channel(ProjectFactory.create(), receiver.url), at=T0)
        traveller.move_to(T0 + timedelta(seconds=400))
        sweep()
        reason = health(client)[1]["reason"]
        assert reason.startswith("delivery: no delivery worker reported for 400 s")
        assert "outbox: a due notification has waited 400 s" in reason


@pytest.mark.django_db
def test_rows_between_retries_wait_only_once_due(receiver: HttpReceiver) -> None:
    """A receiver that is down and retried on schedule is not Vigil's own trouble."""
    notification = problem(webhook_channel(ProjectFactory.create(), receiver.url), at=T0)
    now = T0 + timedelta(hours=3)
    Notification.objects.filter(id=notification.id).update(
        status=DeliveryStatus.RETRYING, attempt_count=4, next_attempt_at=now + timedelta(minutes=50)
    )
    assert outbox_oldest_seconds(now) == 0.0
    Notification.objects.filter(id=notification.id).update(next_attempt_at=now - timedelta(seconds=42))
    assert outbox_oldest_seconds(now) == 42.0
    held = problem(webhook_channel(ProjectFactory.create(), receiver.url), at=now)
    Notification.objects.filter(id=held.id).update(next_attempt_at=now + timedelta(hours=1))
    assert outbox_oldest_seconds(now) == 42.0
    assert outbox_backlog() == {"pending": 1, "retrying": 1}
    assert outbox_backlog(project=held.channel.project) == {"pending": 1, "retrying": 0}


@pytest.mark.django_db
def test_the_heartbeat_is_written_at_most_every_few_seconds() -> None:
    delivery_heartbeat_record(now=T0)
    delivery_heartbeat_record(now=T0 + timedelta(seconds=2))
    assert WorkerHeartbeat.objects.get().beat_at == T0
    delivery_heartbeat_record(now=T0 + timedelta(seconds=6))
    assert WorkerHeartbeat.objects.get().beat_at == T0 + timedelta(seconds=6)


def wait_for(condition: Any, *, timeout: float, tick: Any = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tick is not None:
            tick()
        if condition():
            return True
        time.sleep(0.3)
    return False


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_killed_delivery_worker_and_its_backlog_turn_503_and_a_new_worker_brings_200(
    client: Client, settings: Any, receiver: HttpReceiver, workers: Workers
) -> None:
    settings.HEALTH_DELIVERY_MAX_AGE = 8
    settings.HEALTH_OUTBOX_MAX_AGE = 6
    celery_app.control.purge()

    def beat() -> None:
        """What beat does: sweep, ask a delivery worker to report, hand out due rows."""
        sweep()
        delivery_heartbeat.apply_async(expires=60)
        dispatch_until(lambda: True, timeout=1)

    first = workers.start()
    assert wait_for(lambda: health(client)[0] == 200, timeout=30, tick=beat), (health(client), workers.logs())
    workers.kill(first)

    notification = problem(webhook_channel(ProjectFactory.create(), receiver.url))

    def both_named() -> bool:
        status, body = health(client)
        reason = body.get("reason", "")
        return status == 503 and "delivery:" in reason and "outbox:" in reason

    assert wait_for(both_named, timeout=30, tick=beat), health(client)
    assert not receiver.requests

    workers.start()

    def delivered_and_healthy() -> bool:
        notification.refresh_from_db()
        return notification.status == DeliveryStatus.DELIVERED and health(client)[0] == 200

    assert wait_for(delivered_and_healthy, timeout=30, tick=beat), (health(client), workers.logs())
    assert health(client)[1]["outbox_oldest_s"] == 0.0
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_metrics_carry_delivery_age_outbox_wait_and_backlog_by_state(
    client: Client, receiver: HttpReceiver
) -> None:
    project = ProjectFactory.create()
    other = ProjectFactory.create()
    with time_machine.travel(T0, tick=False) as traveller:
        waiting = problem(webhook_channel(project, receiver.url), at=T0)
        retrying = problem(webhook_channel(project, receiver.url), at=T0)
        Notification.objects.filter(id=retrying.id).update(
            status=DeliveryStatus.RETRYING, next_attempt_at=T0 + timedelta(minutes=30)
        )
        problem(webhook_channel(other, receiver.url), at=T0 - timedelta(hours=1))
        delivery_heartbeat_record()
        traveller.move_to(T0 + timedelta(seconds=75))
        families = {
            family.name: family
            for family in text_string_to_metric_families(
                client.get(f"/metrics/{project.status_key}").content.decode()
            )
        }
    assert families["vigil_delivery_age_seconds"].samples[0].value == 75.0
    # Only this project's rows: the other project's older row is not counted.
    assert families["vigil_outbox_oldest_seconds"].samples[0].value == 75.0
    backlog = {sample.labels["state"]: sample.value for sample in families["vigil_outbox_backlog"].samples}
    assert backlog == {"pending": 1.0, "retrying": 1.0}
    assert waiting.status == DeliveryStatus.PENDING
