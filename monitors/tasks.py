"""Beat tasks of the monitors app: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from monitors.audit import audit_prune as prune


@shared_task(name="monitors.tasks.audit_prune", ignore_result=True)
def audit_prune() -> int:
    return prune()
