"""Celery tasks of the pings app: thin wrappers around services."""

from celery import shared_task

from pings.retention import pings_and_runs_prune, recent_pings_prune


@shared_task(name="pings.tasks.prune_recent_pings", ignore_result=True)
def prune_recent_pings() -> int:
    return recent_pings_prune().pings


@shared_task(name="pings.tasks.prune_pings_and_runs", ignore_result=True)
def prune_pings_and_runs() -> int:
    pruned = pings_and_runs_prune()
    return pruned.pings + pruned.runs
