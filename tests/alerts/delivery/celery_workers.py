"""Real Celery worker processes for delivery tests (PostgreSQL + Redis pass), and beat's job by hand."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

from alerts.delivery.tasks import dispatch_notifications

REPO = Path(__file__).resolve().parents[3]
# Short, so a worker killed mid-send has its row sent again within a test's patience.
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
    """Delivery workers (the default queue) started as `celery worker` processes, killed with SIGKILL."""

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


def dispatch_until(done: Callable[[], bool], *, timeout: float) -> bool:
    """Beat's job, done by hand: a dispatcher tick every few tenths of a second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatch_notifications()
        if done():
            return True
        time.sleep(0.2)
    return False
