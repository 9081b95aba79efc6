"""Celery tasks of delivery: thin wrappers around the services."""

from __future__ import annotations

from celery import shared_task

from alerts.delivery.dispatch import notifications_dispatch
from alerts.delivery.heartbeat import delivery_heartbeat_record
from alerts.delivery.outbox import notification_deliver
from alerts.delivery.reminders import reminders_schedule


@shared_task(name="alerts.delivery.tasks.dispatch_notifications", ignore_result=True)
def dispatch_notifications() -> int:
    return notifications_dispatch(enqueue=_enqueue_delivery)


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


def _enqueue_delivery(notification_id: int, attempt_count: int) -> None:
    deliver_notification.delay(notification_id, attempt_count)
