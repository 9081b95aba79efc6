"""The Python SDK: @monitor decorator and `with monitor(...) as run` against the fake server."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from vigil_client import current_run, monitor, sdk

from tests.client.conftest import API_KEY, PING_KEY, FakeVigil

BASE = f"/ping/{PING_KEY}"


@pytest.fixture(autouse=True)
def sdk_env(fake_vigil: FakeVigil, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("VIGIL_SERVER", fake_vigil.url)
    monkeypatch.setenv("VIGIL_PING_KEY", PING_KEY)
    monkeypatch.delenv("VIGIL_API_KEY", raising=False)
    sdk._ensured.clear()
    sdk._config_warned.clear()
    yield
    sdk._ensured.clear()


def test_decorator_success(fake_vigil: FakeVigil) -> None:
    @monitor("nightly-backup")
    def backup(n: int) -> int:
        return n * 2

    assert backup(21) == 42
    assert backup.__name__ == "backup"
    start, finish = fake_vigil.pings()
    assert start.path == f"{BASE}/nightly-backup/start"
    assert finish.path == f"{BASE}/nightly-backup"
    assert start.query["create"] == ["1"]
    assert start.rid == finish.rid
    assert finish.body == b""


def test_decorator_exception_sends_traceback_and_reraises(fake_vigil: FakeVigil) -> None:
    @monitor("nightly-backup")
    def backup() -> None:
        raise ValueError("disk full")

    with pytest.raises(ValueError, match="disk full"):
        backup()
    finish = fake_vigil.pings()[-1]
    assert finish.path == f"{BASE}/nightly-backup/fail"
    log = finish.body.decode()
    assert log.startswith("Traceback (most recent call last):")
    assert "in backup" in log
    assert "ValueError: disk full" in log


def test_each_call_is_its_own_run(fake_vigil: FakeVigil) -> None:
    @monitor("job")
    def job() -> None:
        pass

    job()
    job()
    rids = [p.rid for p in fake_vigil.pings()]
    assert len(rids) == 4
    assert rids[0] == rids[1] != rids[2] == rids[3]


def test_context_manager_with_meta(fake_vigil: FakeVigil) -> None:
    with monitor("etl") as run:
        run.meta(records_processed=1200, source="s3", ok=True, ratio=0.25)
        run.log("loaded 1200 records")

    finish = fake_vigil.pings()[-1]
    assert finish.path == f"{BASE}/etl"
    assert finish.json() == {
        "meta": {"records_processed": 1200, "source": "s3", "ok": True, "ratio": 0.25},
        "log": "loaded 1200 records\n",
    }


def test_context_manager_exception_keeps_meta(fake_vigil: FakeVigil) -> None:
    def job() -> None:
        with monitor("etl") as run:
            run.meta(records_processed=7)
            raise KeyError("customer_id")

    with pytest.raises(KeyError):
        job()

    finish = fake_vigil.pings()[-1]
    assert finish.path == f"{BASE}/etl/fail"
    body = finish.json()
    assert body["meta"] == {"records_processed": 7}
    assert "KeyError: 'customer_id'" in body["log"]


def test_current_run_inside_decorated_function(fake_vigil: FakeVigil) -> None:
    @monitor("import")
    def do_import() -> None:
        run = current_run()
        assert run is not None
        run.meta(rows=3)

    do_import()
    assert current_run() is None
    assert fake_vigil.pings()[-1].json()["meta"] == {"rows": 3}


def test_meta_rejects_other_types() -> None:
    bad: Any = [1, 2]
    with monitor(url="http://127.0.0.1:9/ping/x", timeout=0) as run, pytest.raises(TypeError):
        run.meta(bad=bad)


def test_explicit_url(fake_vigil: FakeVigil) -> None:
    with monitor(url=f"{fake_vigil.url}/ping/2d1c0b9a-8f7e-4d6c-b5a4-0f1e2d3c4b5a"):
        pass

    assert [p.path for p in fake_vigil.pings()] == [
        "/ping/2d1c0b9a-8f7e-4d6c-b5a4-0f1e2d3c4b5a/start",
        "/ping/2d1c0b9a-8f7e-4d6c-b5a4-0f1e2d3c4b5a",
    ]


def test_system_exit_codes(fake_vigil: FakeVigil) -> None:
    with pytest.raises(SystemExit), monitor("cli-job"):
        sys.exit(3)
    with pytest.raises(SystemExit), monitor("cli-job"):
        sys.exit(0)

    assert [p.path for p in fake_vigil.pings()][1::2] == [f"{BASE}/cli-job/3", f"{BASE}/cli-job/0"]


def test_server_down_never_raises(closed_port: int, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.setenv("VIGIL_SERVER", f"http://127.0.0.1:{closed_port}")

    @monitor("nightly", timeout=1)
    def job() -> str:
        return "done"

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="vigil_client"):
        assert job() == "done"
    assert time.monotonic() - started < 3
    assert len(caplog.records) == 1
    assert "not delivered" in caplog.records[0].getMessage()


def test_server_errors_are_retried(fake_vigil: FakeVigil) -> None:
    fake_vigil.fail(f"{BASE}/job?", status=500)  # Never matches: paths carry no query.
    fake_vigil.fail(f"{BASE}/job/fail", status=502, times=2)

    with pytest.raises(RuntimeError), monitor("job"):
        raise RuntimeError("x")

    assert [p.path for p in fake_vigil.pings()].count(f"{BASE}/job/fail") == 3


def test_missing_configuration_runs_unmonitored(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.delenv("VIGIL_PING_KEY")

    @monitor("job")
    def job() -> int:
        return 1

    with caplog.at_level(logging.WARNING, logger="vigil_client"):
        assert job() == 1
        assert job() == 1
    assert len(caplog.records) == 1  # Warned once per process, not per run.
    assert "VIGIL_PING_KEY" in caplog.records[0].getMessage()


def test_schedule_creates_monitor_once_per_process(
    fake_vigil: FakeVigil, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_API_KEY", API_KEY)

    @monitor(
        "nightly-backup", schedule="0 3 * * *", timezone="Europe/Berlin", grace="30m", description="db dump"
    )
    def backup() -> None:
        pass

    backup()
    backup()

    (post,) = fake_vigil.api_writes()
    assert post.json() == {
        "slug": "nightly-backup",
        "name": "nightly-backup",
        "schedule": {"kind": "cron", "expression": "0 3 * * *", "timezone": "Europe/Berlin"},
        "grace_seconds": 1800,
        "description": "db dump",
    }
    # The monitor existed before the first start ping.
    first_ping = fake_vigil.pings()[0]
    assert post.at < first_ping.at


def test_definition_updates_existing_monitor(fake_vigil: FakeVigil, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_API_KEY", API_KEY)
    fake_vigil.add_monitor("poller", schedule={"kind": "interval", "seconds": 60}, grace_seconds=300)

    with monitor("poller", interval="5m", grace=300, max_duration="1m"):
        pass

    (patch,) = fake_vigil.api_writes()
    assert patch.method == "PATCH"
    assert patch.json() == {"schedule": {"kind": "interval", "seconds": 300}, "max_duration_seconds": 60}


def test_no_api_calls_without_api_key(fake_vigil: FakeVigil) -> None:
    with monitor("job", interval=60):
        pass
    assert fake_vigil.api_writes() == []
    assert [r for r in fake_vigil.requests if r.path.startswith("/api/")] == []


def test_bad_definition_raises_at_once() -> None:
    with pytest.raises(ValueError, match="not both"):
        monitor("x", schedule="0 3 * * *", interval=60)
    with pytest.raises(ValueError, match="grace"):
        monitor("x", grace="soon")


def test_async_function(fake_vigil: FakeVigil) -> None:
    @monitor("async-job")
    async def job() -> int:
        await asyncio.sleep(0)
        return 5

    assert asyncio.run(job()) == 5
    assert [p.path for p in fake_vigil.pings()] == [f"{BASE}/async-job/start", f"{BASE}/async-job"]


def test_slug_defaults_to_function_name(fake_vigil: FakeVigil) -> None:
    @monitor()
    def rebuild_search_index() -> None:
        pass

    rebuild_search_index()
    assert fake_vigil.pings()[0].path == f"{BASE}/rebuild-search-index/start"
