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
                "id": 510 - i,  # Newer runs have larger ids, as on the server.
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
        "id": 511,
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


def test_last_failure_asks_the_runs_feed_for_it(vigil: VigilRunner, populated: FakeVigil) -> None:
    vigil("last-failure", "report")

    (feed,) = [r for r in populated.requests if r.path == "/api/v1/runs/"]
    report = next(m for m in populated.monitors if m["slug"] == "report")
    assert feed.query == {"monitor": [str(report["id"])], "status": ["failed"]}
    assert not [r for r in populated.requests if r.path.endswith("/runs/") and r.path != "/api/v1/runs/"]


def test_last_failure_on_a_server_without_the_runs_feed(vigil: VigilRunner, populated: FakeVigil) -> None:
    populated.fail("/api/v1/runs/", status=404, times=1, body=b'{"detail": "Not found."}')

    result = vigil("last-failure", "report")

    assert result.returncode == 0, result.stderr
    assert result.stdout == b"run 1\nERROR disk full\n"


def add_feed_runs(fake_vigil: FakeVigil) -> None:
    """A failed run of api-sync, newer than all of report's."""
    sync = next(m for m in fake_vigil.monitors if m["slug"] == "api-sync")
    fake_vigil.runs[sync["id"]] = [
        {
            "id": 600,
            "rid": None,
            "status": "failed",
            "started_at": iso(-timedelta(minutes=10)),
            "finished_at": iso(-timedelta(minutes=9)),
            "duration_ms": 60_000,
            "exit_code": 7,
            "meta": {},
            "log": "sync failed\n",
            "log_truncated": False,
            "manual": False,
        }
    ]


def test_history_all_failed_is_a_table_of_every_monitors_runs(
    vigil: VigilRunner, populated: FakeVigil
) -> None:
    add_feed_runs(populated)

    result = vigil("history", "--all", "--failed", "--since", "24h")

    assert result.returncode == 0, result.stderr
    (feed,) = [r for r in populated.requests if r.path == "/api/v1/runs/"]
    assert feed.query == {"status": ["failed"], "since": ["24h"]}
    header, *rows = result.stdout.decode().splitlines()
    assert header.split() == ["MONITOR", "STARTED", "FINISHED", "STATUS", "DURATION", "EXIT"]
    assert len(rows) == 1
    assert rows[0].split()[0] == "api-sync"
    assert rows[0].split()[-6:] == ["failed", "1", "min", "00", "s", "7"]


def test_history_all_shows_how_many_more_there_are(vigil: VigilRunner, populated: FakeVigil) -> None:
    add_feed_runs(populated)

    result = vigil("history", "--all", "-n", "3")

    assert result.returncode == 0, result.stderr
    rows = result.stdout.decode().splitlines()[1:]
    assert [row.split()[0] for row in rows] == ["api-sync", "report", "report"]
    assert "3 of 7 runs shown" in result.stderr.decode()
    # Only as many pages as the rows needed (two runs a page on the fake server).
    assert len([r for r in populated.requests if r.path == "/api/v1/runs/"]) == 2


def test_history_filters_by_monitor_tag_and_status(vigil: VigilRunner, populated: FakeVigil) -> None:
    add_feed_runs(populated)
    report = next(m for m in populated.monitors if m["slug"] == "report")

    by_monitor = vigil("history", "--all", "--monitor", "report", "--status", "failed", "--json")
    by_slug = vigil("history", "report", "--failed", "--json")
    by_tag = vigil("history", "--tag", "db", "--json")

    for result in (by_monitor, by_slug):
        assert result.returncode == 0, result.stderr
        assert [run["id"] for run in json.loads(result.stdout)] == [509, 507]
    assert json.loads(by_tag.stdout) == []
    feeds = [r.query for r in populated.requests if r.path == "/api/v1/runs/"]
    assert feeds[0] == {"status": ["failed"], "monitor": [str(report["id"])]}
    assert feeds[-1] == {"tag": ["db"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a monitor's slug, or --all"),
        (("report", "--all"), "not both"),
        (("--all", "--failed", "--status", "success"), "disagree"),
    ],
)
def test_history_usage_errors(
    vigil: VigilRunner, populated: FakeVigil, args: tuple[str, ...], message: str
) -> None:
    result = vigil("history", *args)

    assert result.returncode == 2
    assert message in result.stderr.decode()


def test_history_passes_the_servers_reason_for_bad_input(vigil: VigilRunner, populated: FakeVigil) -> None:
    populated.fail("/api/v1/runs/", status=400, times=1, body=b'{"since": ["Not a date-time."]}')

    result = vigil("history", "--all", "--since", "yesterday")

    assert result.returncode == 1
    assert "HTTP 400: since: Not a date-time." in result.stderr.decode()


def test_stats_reads_as_text_and_json(vigil: VigilRunner, populated: FakeVigil) -> None:
    report = next(m for m in populated.monitors if m["slug"] == "report")
    populated.stats[report["id"]] = {
        "success_rate": {"24h": 1.0, "7d": 0.9523, "30d": None},
        "duration_ms": {"p50": 850, "p95": 65_000},
        "failures_24h": 0,
        "last_failure": populated.runs[report["id"]][2],
    }

    text = vigil("stats", "report")
    as_json = vigil("stats", "report", "--json")

    assert text.returncode == 0, text.stderr
    lines = text.stdout.decode().splitlines()
    assert lines[0].split() == ["monitor", "report"]
    assert lines[1].split() == ["success", "rate", "24h:", "100.0", "%", "7d:", "95.2", "%", "30d:", "-"]
    assert lines[2].split()[:6] == ["duration", "p50", "850", "ms", "p95", "1"]
    assert "1 min 05 s" in lines[2]
    assert lines[3].split() == ["failures", "0", "in", "the", "last", "24", "hours"]
    assert lines[4].startswith("last failure")
    assert "exit code 2 (run 509)" in lines[4]
    assert json.loads(as_json.stdout) == populated.stats[report["id"]]


def test_stats_of_a_monitor_without_runs(vigil: VigilRunner, populated: FakeVigil) -> None:
    result = vigil("stats", "zz-new")

    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    assert "24h: -   7d: -   30d: -" in text
    assert "p50 -   p95 -" in text
    assert text.splitlines()[-1].split() == ["last", "failure", "never"]


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
