"""Monitors as code: `vigil apply monitors.toml` diffs, prune, dry run and file errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from vigil_client import monitors_file
from vigil_client.monitors_file import MonitorsFileError, parse_monitors

from tests.client.conftest import FakeVigil, VigilRunner

MONITORS_TOML = """\
[[monitor]]
slug = "nightly-backup"
name = "Nightly backup"
schedule = "0 3 * * *"
timezone = "Europe/Berlin"
grace = "30m"
max_duration = "2h"
tags = ["db", "nightly"]
channels = ["ops-slack"]
failure_threshold = 2

[[monitor.rule]]
field = "duration"
op = ">"
value = 3600

[[monitor]]
slug = "heartbeat"
interval = "5m"
grace = 60

[[monitor]]
slug = "report"
schedule = "@daily"
description = "Daily report"
allow_overlap = true
channels = ["ops-slack", "oncall-email"]
"""


@pytest.fixture
def monitors_toml(tmp_path: Path) -> Path:
    path = tmp_path / "monitors.toml"
    path.write_text(MONITORS_TOML)
    return path


@pytest.fixture
def server_state(fake_vigil: FakeVigil) -> FakeVigil:
    fake_vigil.add_monitor("heartbeat", schedule={"kind": "interval", "seconds": 300}, grace_seconds=60)
    fake_vigil.add_monitor(
        "report",
        schedule={"kind": "cron", "expression": "0 0 * * *", "timezone": "UTC"},
        channels=[1],
        description="",
    )
    fake_vigil.add_monitor("old-job")
    return fake_vigil


def test_apply_creates_updates_and_reports(
    vigil: VigilRunner, server_state: FakeVigil, monitors_toml: Path
) -> None:
    result = vigil("apply", str(monitors_toml))

    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == (
        "+ nightly-backup: created\n"
        "= heartbeat: unchanged\n"
        "~ report: updated\n"
        '    description: "" -> "Daily report"\n'
        "    allow_overlap: false -> true\n"
        '    channels: ["ops-slack"] -> ["oncall-email", "ops-slack"]\n'
        "1 created, 1 updated, 1 unchanged\n"
    )
    post, patch = server_state.api_writes()
    assert post.method == "POST"
    assert post.json() == {
        "slug": "nightly-backup",
        "name": "Nightly backup",
        "schedule": {"kind": "cron", "expression": "0 3 * * *", "timezone": "Europe/Berlin"},
        "grace_seconds": 1800,
        "max_duration_seconds": 7200,
        "tags": ["db", "nightly"],
        "failure_threshold": 2,
        "rules": [{"field": "duration_ms", "op": "gt", "value": 3_600_000}],
        "channels": [1],
    }
    assert patch.method == "PATCH"
    assert patch.json() == {"description": "Daily report", "allow_overlap": True, "channels": [1, 2]}
    assert "old-job" in [m["slug"] for m in server_state.monitors]  # No --prune: kept.

    again = vigil("apply", str(monitors_toml))
    assert again.stdout.decode().splitlines()[-1] == "3 unchanged"


def test_apply_shows_schedule_and_field_changes(
    vigil: VigilRunner, fake_vigil: FakeVigil, tmp_path: Path
) -> None:
    fake_vigil.add_monitor(
        "report",
        schedule={"kind": "interval", "seconds": 3600},
        grace_seconds=600,
        rules=[{"field": "exit_code", "op": "!=", "value": 0}],
    )
    path = tmp_path / "m.toml"
    path.write_text('[[monitor]]\nslug = "report"\nschedule = "30 6 * * 1-5"\ngrace = "15m"\nrule = []\n')

    result = vigil("apply", str(path), "--dry-run")

    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == (
        "~ report: would be updated\n"
        "    schedule: every 1h -> cron '30 6 * * 1-5' UTC\n"
        "    grace_seconds: 600 -> 900\n"
        '    rules: [{"field": "exit_code", "op": "!=", "value": 0}] -> []\n'
        "dry run: 1 would be updated\n"
    )
    assert fake_vigil.api_writes() == []


def test_apply_prune(vigil: VigilRunner, server_state: FakeVigil, monitors_toml: Path) -> None:
    dry = vigil("apply", str(monitors_toml), "--prune", "--dry-run")
    assert "- old-job: would be deleted" in dry.stdout.decode()
    assert server_state.api_writes() == []

    result = vigil("apply", str(monitors_toml), "--prune")

    assert result.returncode == 0, result.stderr
    assert "- old-job: deleted" in result.stdout.decode()
    assert result.stdout.decode().endswith("1 created, 1 updated, 1 unchanged, 1 deleted\n")
    deletes = [w for w in server_state.api_writes() if w.method == "DELETE"]
    assert len(deletes) == 1
    assert sorted(m["slug"] for m in server_state.monitors) == ["heartbeat", "nightly-backup", "report"]


def test_apply_refuses_to_prune_everything(
    vigil: VigilRunner, server_state: FakeVigil, tmp_path: Path
) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("# nothing\n")

    result = vigil("apply", str(path), "--prune")

    assert result.returncode == 2
    assert server_state.api_writes() == []


def test_apply_unknown_channel(vigil: VigilRunner, fake_vigil: FakeVigil, tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[[monitor]]\nslug = "a"\ninterval = 60\nchannels = ["pager"]\n')

    result = vigil("apply", str(path))

    assert result.returncode == 2
    assert b"a: no channel named 'pager' (channels: oncall-email, ops-slack)" in result.stderr
    assert fake_vigil.api_writes() == []


def test_apply_syntax_error_shows_the_line(vigil: VigilRunner, fake_vigil: FakeVigil, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[monitor]]\nslug = "a"\ngrace = 10m\n')

    result = vigil("apply", str(path))

    assert result.returncode == 2
    err = result.stderr.decode()
    assert f"{path}:3:" in err
    assert "grace = 10m" in err
    assert "^" in err
    assert fake_vigil.requests == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[monitor]]\nslug = "a"\nschedul = "0 3 * * *"\n', "monitor #1 (a): unknown key(s) schedul"),
        ('[[monitor]]\nname = "x"\n', "monitor #1: missing `slug`"),
        ('[[monitor]]\nslug = "Bad Slug"\n', "slug 'Bad Slug'"),
        ('[[monitor]]\nslug = "a"\ngrace = "ten minutes"\n', "grace: expected seconds"),
        ('[[monitor]]\nslug = "a"\nschedule = "0 3 * *"\n', "expected five cron fields"),
        ('[[monitor]]\nslug = "a"\nschedule = "0 3 * * *"\ninterval = 60\n', "not both"),
        ('[[monitor]]\nslug = "a"\ninterval = 60\ntimezone = "UTC"\n', "timezone only applies"),
        (
            '[[monitor]]\nslug = "a"\n[[monitor]]\nslug = "a"\n',
            "monitor #2 (a): slug 'a' already used by monitor #1",
        ),
        ('[[monitor]]\nslug = "a"\n[[monitor.rule]]\nfield = "x"\n', "rule #1: missing op, value"),
        ('[[monitors]]\nslug = "a"\n', "[[monitor]], singular"),
        ('[[monitor]]\nslug = "a"\nfailure_threshold = 0\n', "failure_threshold: must be at least 1"),
        ('[[monitor]]\nslug = "a"\nallow_overlap = "yes"\n', "allow_overlap: expected true or false"),
    ],
)
def test_file_errors(text: str, message: str) -> None:
    with pytest.raises(MonitorsFileError) as info:
        parse_monitors(text, "m.toml")
    assert message in str(info.value)


def test_durations_and_interval_forms() -> None:
    specs = parse_monitors(
        '[[monitor]]\nslug = "a"\ninterval = "1h30m"\ngrace = 90\nmax_duration = "2d"\n'
        '[[monitor]]\nslug = "b"\ninterval = 600\n'
    )
    assert specs[0].fields == {
        "schedule": {"kind": "interval", "seconds": 5400},
        "grace_seconds": 90,
        "max_duration_seconds": 172800,
    }
    assert specs[1].fields == {"schedule": {"kind": "interval", "seconds": 600}}


def test_plan_leaves_undeclared_fields_alone() -> None:
    specs = parse_monitors('[[monitor]]\nslug = "a"\ninterval = 60\n')
    existing = [
        {"id": 1, "slug": "a", "schedule": {"kind": "interval", "seconds": 60}, "description": "kept"}
    ]

    (change,) = monitors_file.plan_changes(specs, existing, [])

    assert change.action == "unchanged"
    assert change.payload == {}
