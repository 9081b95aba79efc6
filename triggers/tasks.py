"""Celery tasks of Run now: thin wrappers around the services."""

from __future__ import annotations

from celery import shared_task

from triggers.delivery import run_request_deliver, run_requests_dispatch
from triggers.services import run_requests_expire


@shared_task(name="triggers.tasks.dispatch_run_requests", ignore_result=True)
def dispatch_run_requests() -> int:
    return run_requests_dispatch(enqueue=_enqueue_delivery)


@shared_task(name="triggers.tasks.deliver_run_request", ignore_result=True)
def deliver_run_request(request_id: int, attempt_count: int) -> None:
    run_request_deliver(request_id=request_id, attempt_count=attempt_count)


@shared_task(name="triggers.tasks.expire_run_requests", ignore_result=True)
def expire_run_requests() -> int:
    return run_requests_expire()


def _enqueue_delivery(request_id: int, attempt_count: int) -> None:
    deliver_run_request.delay(request_id, attempt_count)
