"""vigil_client.celery: beat tasks reported through Celery's real signals."""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.client.conftest import API_KEY, PING_KEY, FakeVigil, client_env

celery = pytest.importorskip("celery")

from celery import signals  # noqa: E402
from celery.schedules import crontab  # noqa: E402
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


# ---- monitors with the beat schedule's own timing ------------------------------------------


@pytest.fixture(scope="module")
def scheduled_app() -> Any:
    app = celery.Celery("vigil-sched-test", set_as_current=False)
    app.conf.timezone = "Europe/Berlin"
    app.conf.beat_schedule = {
        "every-minute": {"task": "vigil_sched.tick", "schedule": 60.0},
        "weekly-report": {
            "task": "vigil_sched.report",
            "schedule": crontab(minute=0, hour=6, day_of_week="mon"),
        },
        "odd-one": {"task": "vigil_sched.odd", "schedule": crontab(minute=0, day_of_month=1, day_of_week=1)},
    }

    @app.task(name="vigil_sched.tick")
    def tick() -> str:
        return "tick"

    return app


def test_with_an_api_key_monitors_get_the_schedules_before_the_first_ping(
    scheduled_app: Any, fake_vigil: FakeVigil, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="vigil_client")
    weekly = fake_vigil.add_monitor("weekly-report", name="Weekly (renamed)", grace_seconds=7200)
    handle = enable_celery_monitoring(
        scheduled_app, server=fake_vigil.url, ping_key=PING_KEY, api_key=API_KEY, timeout=5
    )
    try:
        scheduled_app.tasks["vigil_sched.tick"].apply()
        pings = fake_vigil.wait_for_pings(2)
    finally:
        handle.disconnect()

    writes = fake_vigil.api_writes()
    created = next(w for w in writes if w.method == "POST")
    assert created.json() == {
        "slug": "every-minute",
        "name": "every-minute",
        "description": "Celery beat entry 'every-minute': task vigil_sched.tick",
        "tags": ["celery"],
        "schedule": {"kind": "interval", "seconds": 60},
        "grace_seconds": 60,
    }
    updated = next(w for w in writes if w.method == "PATCH")
    assert updated.path == f"/api/v1/monitors/{weekly['id']}/"
    assert updated.json() == {
        "schedule": {"kind": "cron", "expression": "0 6 * * 1", "timezone": "Europe/Berlin"},
        "grace_seconds": 3600,
    }
    assert weekly["name"] == "Weekly (renamed)"  # Only the schedule and its grace are sent.
    assert len(writes) == 2  # odd-one cannot be mapped: nothing is sent for it.
    # The first ping went only after the monitors had their schedules.
    assert [p.path for p in pings] == [f"{BASE}/every-minute/start", f"{BASE}/every-minute"]
    assert pings[0].at > max(w.at for w in writes)
    assert [r.action for r in handle.sync_results] == ["created", "updated", "skipped"]
    warnings = [r.getMessage() for r in caplog.records]
    assert any("'odd-one' keeps the server's default schedule: day_of_month" in w for w in warnings)


def test_a_monitor_whose_schedule_matches_is_left_alone(scheduled_app: Any, fake_vigil: FakeVigil) -> None:
    fake_vigil.add_monitor("every-minute", schedule={"kind": "interval", "seconds": 60}, grace_seconds=300)
    fake_vigil.add_monitor(
        "weekly-report",
        schedule={"kind": "cron", "expression": "0  6 * * 1", "timezone": "Europe/Berlin"},
    )
    handle = enable_celery_monitoring(
        scheduled_app, server=fake_vigil.url, ping_key=PING_KEY, api_key=API_KEY, timeout=5
    )
    handle.disconnect()

    assert handle.synced.wait(5)
    assert [r.action for r in handle.sync_results] == ["unchanged", "unchanged", "skipped"]
    assert fake_vigil.api_writes() == []


def test_a_grace_given_is_applied_to_every_monitor(scheduled_app: Any, fake_vigil: FakeVigil) -> None:
    fake_vigil.add_monitor("every-minute", schedule={"kind": "interval", "seconds": 60}, grace_seconds=300)
    handle = enable_celery_monitoring(
        scheduled_app, server=fake_vigil.url, ping_key=PING_KEY, api_key=API_KEY, grace="2m", timeout=5
    )
    handle.disconnect()

    assert handle.synced.wait(5)
    (patch,) = [w for w in fake_vigil.api_writes() if w.method == "PATCH"]
    (post,) = [w for w in fake_vigil.api_writes() if w.method == "POST"]
    assert patch.json() == {"grace_seconds": 120}  # Its schedule already matched.
    assert (post.json()["slug"], post.json()["grace_seconds"]) == ("weekly-report", 120)


def test_an_api_that_is_down_delays_the_first_ping_only_within_the_budget(
    scheduled_app: Any, fake_vigil: FakeVigil, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="vigil_client")
    fake_vigil.fail("/api/", status=503, times=1000)
    handle = enable_celery_monitoring(
        scheduled_app, server=fake_vigil.url, ping_key=PING_KEY, api_key=API_KEY, timeout=1
    )
    try:
        result = scheduled_app.tasks["vigil_sched.tick"].apply()
        pings = fake_vigil.wait_for_pings(2)
    finally:
        handle.disconnect()

    assert result.get() == "tick"
    assert [p.path for p in pings] == [f"{BASE}/every-minute/start", f"{BASE}/every-minute"]
    assert pings[0].query["create"] == ["1"]  # The monitor still comes to exist.
    assert any("could not give the Celery monitors their schedules" in r.getMessage() for r in caplog.records)


def test_without_an_api_key_the_default_schedule_is_said(
    scheduled_app: Any,
    fake_vigil: FakeVigil,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.WARNING, logger="vigil_client")
    monkeypatch.delenv("VIGIL_API_KEY", raising=False)
    handle = enable_celery_monitoring(scheduled_app, server=fake_vigil.url, ping_key=PING_KEY)
    handle.disconnect()

    assert fake_vigil.api_writes() == []
    assert any("VIGIL_API_KEY not set" in r.getMessage() for r in caplog.records)
