"""Celery tasks of the detection engine: thin wrappers around services."""

from celery import shared_task
from django.conf import settings

from alerts.deadline_watch import watch
from alerts.delivery.tasks import DeliveryBatch
from alerts.retention import deliveries_prune
from alerts.sweeper import sweep as sweep_due_monitors


@shared_task(name="alerts.tasks.watch_deadlines", ignore_result=True)
def watch_deadlines() -> int:
    """Sent by beat every second: watch the deadlines for the next second (alerts.deadline_watch)."""
    return watch(after_batch=DeliveryBatch().dispatch_now, on_backlog=_ask_for_helpers)


@shared_task(name="alerts.tasks.sweep", ignore_result=True)
def sweep() -> int:
    """One pass over what is due now (their outbox rows wait for the dispatcher's tick)."""
    return sweep_due_monitors()


@shared_task(name="alerts.tasks.prune_deliveries", ignore_result=True)
def prune_deliveries() -> int:
    return deliveries_prune()


@shared_task(name="alerts.tasks.sweep_backlog", ignore_result=True)
def sweep_backlog() -> int:
    """A helper for a backlog: sweep alongside the watcher until nothing due is left unclaimed."""
    processed = 0
    while swept := sweep_due_monitors(after_batch=DeliveryBatch().dispatch_now):
        processed += swept
    return processed


def _ask_for_helpers() -> None:
    for _ in range(settings.SWEEP_HELPERS):
        sweep_backlog.apply_async(expires=10)
