"""vigil_client.celery: beat tasks reported through Celery's real signals."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.client.conftest import PING_KEY, FakeVigil, client_env

celery = pytest.importorskip("celery")

from celery import signals  # noqa: E402
from vigil_client.celery import CeleryMonitoring, enable_celery_monitoring  # noqa: E402

BASE = f"/ping/{PING_KEY}"


@pytest.fixture(scope="module")
def app() -> Any:
    # One app per module: Celery warns when a task name is registered twice.
    app = celery.Celery("vigil-test", set_as_current=False)
    app.conf.beat_schedule = {
        "Nightly Backup!": {"task": "vigil_test.backup", "schedule": 3600.0},
        "broken-job": {"task": "vigil_test.broken", "schedule": 60.0},
        "cleanup-tmp": {"task": "vigil_test.cleanup", "schedule": 60.0, "args": ("/tmp",)},
        "cleanup-var": {"task": "vigil_test.cleanup", "schedule": 60.0, "args": ("/var/tmp",)},
    }

    @app.task(name="vigil_test.backup")
    def backup() -> str:
        return "ok"

    @app.task(name="vigil_test.broken")
    def broken() -> None:
        raise RuntimeError("boom in task")

    @app.task(name="vigil_test.cleanup")
    def cleanup(path: str) -> str:
        return path

    @app.task(name="vigil_test.unscheduled")
    def unscheduled() -> None:
        pass

    return app


@pytest.fixture
def monitoring(app: Any, fake_vigil: FakeVigil) -> Iterator[CeleryMonitoring]:
    handle = enable_celery_monitoring(app, server=fake_vigil.url, ping_key=PING_KEY, timeout=5)
    yield handle
    handle.disconnect()


def test_success_is_reported(app: Any, monitoring: CeleryMonitoring, fake_vigil: FakeVigil) -> None:
    result = app.tasks["vigil_test.backup"].apply()

    assert result.get() == "ok"
    start, finish = fake_vigil.wait_for_pings(2)
    assert start.path == f"{BASE}/nightly-backup/start"
    assert finish.path == f"{BASE}/nightly-backup"
    assert start.query["create"] == ["1"]
    assert start.rid == finish.rid == str(uuid.UUID(result.id))


def test_failure_sends_traceback(app: Any, monitoring: CeleryMonitoring, fake_vigil: FakeVigil) -> None:
    result = app.tasks["vigil_test.broken"].apply()

    assert result.failed()
    start, finish = fake_vigil.wait_for_pings(2)
    assert start.path == f"{BASE}/broken-job/start"
    assert finish.path == f"{BASE}/broken-job/fail"
    log = finish.body.decode()
    assert "Traceback" in log
    assert "RuntimeError: boom in task" in log


def test_entries_sharing_a_task_are_told_apart_by_args(
    app: Any, monitoring: CeleryMonitoring, fake_vigil: FakeVigil
) -> None:
    app.tasks["vigil_test.cleanup"].apply(args=("/var/tmp",))

    assert [p.path for p in fake_vigil.wait_for_pings(2)] == [
        f"{BASE}/cleanup-var/start",
        f"{BASE}/cleanup-var",
    ]


def test_unscheduled_tasks_are_ignored(app: Any, monitoring: CeleryMonitoring, fake_vigil: FakeVigil) -> None:
    app.tasks["vigil_test.unscheduled"].apply()
    assert fake_vigil.pings() == []


def test_disconnect(app: Any, monitoring: CeleryMonitoring, fake_vigil: FakeVigil) -> None:
    monitoring.disconnect()
    app.tasks["vigil_test.backup"].apply()
    assert fake_vigil.pings() == []


class FakeTask:
    """Just what the receivers read from a task; hashable, as signal senders must be."""

    name = "jobs.report"

    def __init__(self) -> None:
        self.request = SimpleNamespace(id=None)


def test_fake_app_and_direct_signals(fake_vigil: FakeVigil) -> None:
    fake_app = SimpleNamespace(conf=SimpleNamespace(beat_schedule={"report": {"task": "jobs.report"}}))
    task = FakeTask()
    task_id = str(uuid.uuid4())
    handle = enable_celery_monitoring(fake_app, server=fake_vigil.url, ping_key=PING_KEY)
    try:
        signals.task_prerun.send(sender=task, task_id=task_id, task=task, args=(), kwargs={})
        task.request.id = task_id
        signals.task_success.send(sender=task, result=None)
    finally:
        handle.disconnect()

    assert [p.path for p in fake_vigil.wait_for_pings(2)] == [f"{BASE}/report/start", f"{BASE}/report"]


def test_celery_is_imported_lazily() -> None:
    code = "import sys, vigil_client, vigil_client.celery; print('celery' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], env=client_env(), capture_output=True, check=True)
    assert result.stdout == b"False\n"
