"""The deadline watcher (issue 11): detection at the deadline, dispatch right after the commit,
helpers for a backlog, and deliveries sent concurrently by one worker."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.deadline_watch import next_deadline, watch
from alerts.delivery.dispatch import notifications_dispatch
from alerts.delivery.tasks import deliver_notifications
from alerts.models import DeliveryStatus, Incident, Notification
from monitors.models import Monitor, Project
from tests.alerts.delivery.outbox_rows import problem, webhook_channel
from tests.alerts.loopback import HttpReceiver, Received, Reply
from tests.factories import MonitorFactory, ProjectFactory


def due_in(project: Project, seconds: float, count: int = 1) -> list[Monitor]:
    """Monitors missed `seconds` from now (late already; grace 0), each with the project's webhook."""
    deadline = timezone.now() + timedelta(seconds=seconds)
    made = [
        MonitorFactory.create(project=project, interval_seconds=3600, grace_seconds=0) for _ in range(count)
    ]
    Monitor.objects.filter(id__in=[m.id for m in made]).update(
        status="late", next_due_at=deadline, deadline=deadline, revision=1
    )
    channel = project.channels.get()
    for monitor in made:
        monitor.channels.set([channel])
    return made


@pytest.fixture
def project(db: None) -> Project:
    project = ProjectFactory.create()
    webhook_channel(project, "http://h.invalid/hook")
    return project


def test_a_deadline_inside_the_window_is_detected_and_its_row_dispatched_in_the_same_run(
    project: Project,
) -> None:
    [monitor] = due_in(project, 0.3)
    assert next_deadline() == Monitor.objects.get(id=monitor.id).deadline
    handed: list[tuple[int, int]] = []

    def dispatch() -> None:
        notifications_dispatch(enqueue=lambda *row: handed.append(row))

    processed = watch(seconds=1.0, after_batch=dispatch)

    assert processed == 1
    incident = Incident.objects.get(monitor=monitor)
    assert incident.kind == "missed"
    assert handed == [(Notification.objects.get(incident=incident).id, 0)]
    assert Monitor.objects.get(id=monitor.id).status == "down"


def test_nothing_due_in_the_window_sweeps_nothing(project: Project) -> None:
    [monitor] = due_in(project, 3600)
    batches: list[None] = []
    assert watch(seconds=0.3, after_batch=lambda: batches.append(None)) == 0
    assert batches == []
    assert not Incident.objects.filter(monitor=monitor).exists()


def test_a_backlog_asks_for_helpers_once_and_every_batch_is_dispatched(project: Project) -> None:
    due = due_in(project, -1, count=7)
    asked: list[None] = []
    batches: list[None] = []

    processed = watch(
        seconds=0.1,
        batch_size=3,
        after_batch=lambda: batches.append(None),
        on_backlog=lambda: asked.append(None),
    )

    assert processed == 7
    assert len(asked) == 1
    assert len(batches) == 3
    assert Incident.objects.filter(monitor__in=due).count() == 7


class AnswersWhenAllHaveArrived(HttpReceiver):
    """Holds every answer until `count` requests are in: rows sent one after another would
    never get there (the first waits for the rest), only rows sent together do."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.barrier = threading.Barrier(count, timeout=5)

    def record(self, received: Received) -> Reply:
        reply = super().record(received)
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            return Reply(status=503)
        return reply


# PostgreSQL: the SQLite test database is a shared-cache in-memory one, whose table locks
# fail concurrent writers at once (the embedded mode's file database waits for them).
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_task_sends_its_rows_concurrently(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = True
    settings.DELIVERY_THREADS = 12
    with AnswersWhenAllHaveArrived(12) as receiver:
        channel = webhook_channel(ProjectFactory.create(), receiver.url)
        rows = [problem(channel) for _ in range(12)]
        deliver_notifications.apply(args=([(row.id, 0) for row in rows],))

    assert {request.headers["webhook-id"] for request in receiver.requests} == {
        row.message_id for row in rows
    }
    statuses = Notification.objects.filter(id__in=[row.id for row in rows]).values_list("status", flat=True)
    assert set(statuses) == {DeliveryStatus.DELIVERED}
