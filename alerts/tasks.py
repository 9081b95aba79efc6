"""Celery tasks of the detection engine: thin wrappers around services."""

from celery import shared_task

from alerts.retention import deliveries_prune
from alerts.sweeper import sweep as sweep_due_monitors


@shared_task(name="alerts.tasks.sweep", ignore_result=True)
def sweep() -> int:
    return sweep_due_monitors()


@shared_task(name="alerts.tasks.prune_deliveries", ignore_result=True)
def prune_deliveries() -> int:
    return deliveries_prune()
