"""`vigil status`, `vigil history` and `vigil last-failure` against the fake API."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from vigil_client import tables

from tests.client.conftest import FakeVigil, VigilRunner


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


@pytest.fixture
def populated(fake_vigil: FakeVigil) -> FakeVigil:
    fake_vigil.add_monitor(
        "nightly-backup",
        status="up",
        last_ping_at=iso(-timedelta(minutes=3, seconds=5)),
        last_duration_ms=245_000,
        next_due_at=iso(timedelta(hours=5, minutes=1)),
        tags=["db"],
    )
    fake_vigil.add_monitor("api-sync", status="down", last_ping_at=iso(-timedelta(days=3, hours=1)))
    fake_vigil.add_monitor("zz-new", status="new")
    report = fake_vigil.add_monitor("report", status="up", last_duration_ms=850)
    runs = []
    for i in range(5):
        started = datetime(2024, 5, 1, 3, 0, tzinfo=UTC) - timedelta(days=i)
        failed = i in (1, 3)
        runs.append(
            {
                "id": 500 + i,
                "rid": f"00000000-0000-4000-8000-00000000000{i}",
                "status": "failed" if failed else "success",
                "started_at": started.isoformat(),
                "finished_at": (started + timedelta(seconds=12.3)).isoformat(),
                "duration_ms": 12_300,
                "exit_code": 2 if failed else 0,
                "meta": {},
                "log": f"run {i}\nERROR disk full\n" if failed else f"run {i} ok\n",
                "log_truncated": i == 1,
                "manual": False,
            }
        )
    running = {
        "id": 499,
        "rid": "00000000-0000-4000-8000-00000000000f",
        "status": "running",
        "started_at": iso(-timedelta(minutes=1)),
        "finished_at": None,
        "duration_ms": None,
        "exit_code": None,
        "meta": {},
        "log": "",
        "log_truncated": False,
        "manual": False,
    }
    fake_vigil.runs[report["id"]] = [running, *runs]
    return fake_vigil


def test_status_table(vigil: VigilRunner, populated: FakeVigil) -> None:
    result = vigil("status")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0].split() == ["SLUG", "STATUS", "LAST", "PING", "LAST", "DURATION", "NEXT", "DUE"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert sorted(rows) == ["api-sync", "nightly-backup", "report", "zz-new"]  # All pages followed.
    assert "up" in rows["nightly-backup"]
    assert "3 min ago" in rows["nightly-backup"]
    assert "4 min 05 s" in rows["nightly-backup"]
    assert "in 5 h" in rows["nightly-backup"]
    assert "3 days ago" in rows["api-sync"]
    assert "850 ms" in rows["report"]
    assert rows["zz-new"].split() == ["zz-new", "new", "-", "-", "-"]
    # The columns line up.
    starts = {re.match(r"\S+\s+", line).end() for line in lines}  # type: ignore[union-attr]
    assert len(starts) == 1
    get_pages = [r for r in populated.requests if r.path == "/api/v1/monitors/"]
    assert len(get_pages) == 2


def test_status_filters_and_json(vigil: VigilRunner, populated: FakeVigil) -> None:
    result = vigil("status", "--status", "down", "--json")

    assert result.returncode == 0
    assert [m["slug"] for m in json.loads(result.stdout)] == ["api-sync"]
    assert populated.requests[0].query == {"status": ["down"]}


def test_status_needs_api_key(vigil: VigilRunner, populated: FakeVigil) -> None:
    result = vigil("status", env={"VIGIL_API_KEY": ""})
    assert result.returncode == 2
    assert b"VIGIL_API_KEY" in result.stderr


def test_status_with_wrong_key(vigil: VigilRunner, populated: FakeVigil) -> None:
    result = vigil("status", "--api-key", "wrong")
    assert result.returncode == 1
    assert b"HTTP 401: Invalid API key." in result.stderr


def test_history_table(vigil: VigilRunner, populated: FakeVigil) -> None:
    result = vigil("history", "report", "--limit", "4")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0].split() == ["STARTED", "FINISHED", "STATUS", "DURATION", "EXIT"]
    assert len(lines) == 5
    assert "running" in lines[1]
    assert lines[1].split()[2:] == ["-", "running", "-", "-"]  # No finish, duration or exit code yet.
    local_start = datetime(2024, 5, 1, 3, 0, tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert lines[2].startswith(local_start)
    assert lines[2].split()[-4:] == ["success", "12.3", "s", "0"]
    assert lines[3].split()[-4:] == ["failed", "12.3", "s", "2"]


def test_history_unknown_slug(vigil: VigilRunner, populated: FakeVigil) -> None:
    result = vigil("history", "nope")
    assert result.returncode == 1
    assert b"no monitor with slug 'nope'" in result.stderr


def test_last_failure_prints_log(vigil: VigilRunner, populated: FakeVigil) -> None:
    result = vigil("last-failure", "report")

    assert result.returncode == 0
    assert result.stdout == b"run 1\nERROR disk full\n"
    assert b"exit code 2" in result.stderr
    assert b"truncated" in result.stderr


def test_last_failure_none(vigil: VigilRunner, populated: FakeVigil) -> None:
    result = vigil("last-failure", "nightly-backup")

    assert result.returncode == 1
    assert result.stdout == b""
    assert b"no failed runs" in result.stderr


def test_api_down_is_one_line(vigil: VigilRunner, closed_port: int) -> None:
    result = vigil("status", "--timeout", "0.5", env={"VIGIL_SERVER": f"http://127.0.0.1:{closed_port}"})

    assert result.returncode == 1
    assert len(result.stderr.decode().splitlines()) == 1


@pytest.mark.parametrize(
    ("ms", "text"),
    [(None, "-"), (0, "0 ms"), (999, "999 ms"), (1000, "1.0 s"), (59_949, "59.9 s"), (60_000, "1 min 00 s"),
     (3_600_000, "1 h 00 min"), (5_430_000, "1 h 30 min")],
)  # fmt: skip
def test_format_duration(ms: int | None, text: str) -> None:
    assert tables.format_duration(ms) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "just now"), (-5, "just now"), (42, "42 s ago"), (180, "3 min ago"), (7200, "2 h ago"),
     (86400 * 3, "3 days ago"), (-600, "in 10 min")],
)  # fmt: skip
def test_relative_time(seconds: int, text: str) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert tables.relative_time(now - timedelta(seconds=seconds), now) == text


def test_parse_time_accepts_api_forms() -> None:
    assert tables.parse_time("2024-05-01T03:00:00Z") == datetime(2024, 5, 1, 3, tzinfo=UTC)
    assert tables.parse_time("2024-05-01T03:00:00.123456+00:00") is not None
    assert tables.parse_time(None) is None
    assert tables.parse_time("garbage") is None
