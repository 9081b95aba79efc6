"""A real Celery worker killed mid-delivery: a new worker delivers, under the same webhook-id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from alerts.delivery.tasks import dispatch_notifications
from alerts.models import Notification
from monitorsite.celery import app as celery_app
from tests.alerts.delivery.outbox_rows import problem, webhook_channel
from tests.alerts.loopback import HttpReceiver, Reply
from tests.factories import ProjectFactory

REPO = Path(__file__).resolve().parents[3]
CLAIM_SECONDS = 2
WORKER_ARGS = [
    "-A",
    "monitorsite",
    "worker",
    "-P",
    "solo",
    "-l",
    "INFO",
    "--without-gossip",
    "--without-mingle",
]


def database_url() -> str:
    """The test database (test_<name>), so the worker sees the rows this test commits."""
    db = connection.settings_dict
    credentials = db["USER"] or "postgres"
    if db["PASSWORD"]:
        credentials += f":{db['PASSWORD']}"
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Workers:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": os.environ["REDIS_URL"],
            "WEBHOOKS_ALLOW_PRIVATE_IPS": "1",
            "NOTIFICATION_CLAIM_SECONDS": str(CLAIM_SECONDS),
            "VIGIL_VAR_DIR": str(self.directory),
        }
        celery = Path(sys.executable).parent / "celery"
        with (self.directory / f"worker-{len(self.started)}.log").open("wb") as log:
            # solo: the one process that sends is the one SIGKILL ends.
            worker = subprocess.Popen(
                [str(celery), *WORKER_ARGS],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(worker)
        return worker

    def kill(self, worker: subprocess.Popen[bytes]) -> None:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-3000:] for path in sorted(self.directory.glob("*.log"))
        )


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    running = Workers(tmp_path)
    yield running
    for worker in running.started:
        running.kill(worker)


def dispatch_until(done: Callable[[], bool], *, timeout: float) -> bool:
    """Beat's job, done by hand: a dispatcher tick every few tenths of a second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatch_notifications()
        if done():
            return True
        time.sleep(0.2)
    return False


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
