"""Celery tasks of delivery: thin wrappers around the services.

Outbox rows travel in batches (`deliver_notifications`), and a delivery worker sends the rows
of a batch concurrently on a pool of DELIVERY_THREADS threads: a webhook's answer takes
milliseconds to seconds, during which a process would otherwise sit idle. Each thread claims
its row with the same conditional UPDATE as before, so a batch delivered twice (a lost ack)
still sends each row once per claim.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from celery import shared_task
from django.conf import settings
from django.db import connection

from alerts.delivery.dispatch import notifications_dispatch
from alerts.delivery.heartbeat import delivery_heartbeat_record
from alerts.delivery.outbox import notification_deliver
from alerts.delivery.reminders import reminders_schedule

# Rows per delivery task: small enough that both delivery processes get a share of a burst.
ROWS_PER_TASK = 50

_pool: ThreadPoolExecutor | None = None


class DeliveryBatch:
    """Rows handed out by the dispatcher, sent to the delivery queue as batches."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int]] = []

    def add(self, notification_id: int, attempt_count: int) -> None:
        self.rows.append((notification_id, attempt_count))

    def send(self) -> None:
        rows, self.rows = self.rows, []
        for start in range(0, len(rows), ROWS_PER_TASK):
            deliver_notifications.delay(rows[start : start + ROWS_PER_TASK])

    def dispatch_now(self) -> None:
        """Hand out every due row at once (after a commit that wrote some) and send them."""
        notifications_dispatch(enqueue=self.add)
        self.send()


@shared_task(name="alerts.delivery.tasks.dispatch_notifications", ignore_result=True)
def dispatch_notifications() -> int:
    batch = DeliveryBatch()
    handed = notifications_dispatch(enqueue=batch.add)
    batch.send()
    return handed


@shared_task(name="alerts.delivery.tasks.deliver_notifications", ignore_result=True)
def deliver_notifications(rows: list[tuple[int, int]]) -> None:
    delivery_heartbeat_record()
    if len(rows) == 1:
        notification_deliver(notification_id=rows[0][0], attempt_count=rows[0][1])
        return
    # Interleaved shares, one per thread: each share's rows go one after another on one connection.
    shares = [rows[start :: settings.DELIVERY_THREADS] for start in range(settings.DELIVERY_THREADS)]
    for future in [_threads().submit(_deliver_share, share) for share in shares if share]:
        future.result()


@shared_task(name="alerts.delivery.tasks.deliver_notification", ignore_result=True)
def deliver_notification(notification_id: int, attempt_count: int) -> None:
    delivery_heartbeat_record()
    notification_deliver(notification_id=notification_id, attempt_count=attempt_count)


@shared_task(name="alerts.delivery.tasks.delivery_heartbeat", ignore_result=True)
def delivery_heartbeat() -> None:
    """Routed to the delivery queue: only a delivery worker can run it."""
    delivery_heartbeat_record()


@shared_task(name="alerts.delivery.tasks.schedule_reminders", ignore_result=True)
def schedule_reminders() -> None:
    reminders_schedule()


def _threads() -> ThreadPoolExecutor:
    """Created in the worker process that first needs it (never before a fork)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=settings.DELIVERY_THREADS, thread_name_prefix="delivery")
    return _pool


def _deliver_share(rows: list[tuple[int, int]]) -> None:
    # The thread's connection is closed after its share: idle threads hold none.
    try:
        for notification_id, attempt_count in rows:
            notification_deliver(notification_id=notification_id, attempt_count=attempt_count)
    finally:
        connection.close()
