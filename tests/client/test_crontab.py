"""Crontab parsing and rewriting (in-process), and `vigil discover` (as a process)."""

from __future__ import annotations

import os
import re
import shlex
import stat
from pathlib import Path

import pytest
from vigil_client import crontab
from vigil_client.crontab import CronLine, parse_crontab

from tests.client.conftest import PING_KEY, FakeVigil, VigilRunner

USER_CRONTAB = r"""# m h dom mon dow command
SHELL=/bin/bash
MAILTO="ops@example.com"
PATH = '/usr/local/bin:/usr/bin:/bin'

*/15 * * * * /usr/local/bin/sync-feeds --quiet
0 2-4 * * 1-5 /opt/backup/run.sh
30 6 1,15 * * /usr/bin/php /var/www/app/cron.php
0 9 * jan-mar mon,wed,FRI /opt/report
@daily /usr/local/bin/rotate-logs
@reboot /usr/local/bin/warm-cache
CRON_TZ=America/New_York
0 8 * * * cd /srv/app && ./manage.py send_digest > /var/log/digest.log 2>&1
5 0 * * * date +\%Y-\%m-\%d >> /tmp/dates; mail -s "Report" ops%Body line%second
# 0 3 * * * /disabled/job
0 4 * * 7 /usr/bin/weekly \
   --extra
TZ="Europe/Berlin"
*/5 9-17 * * mon-fri /usr/local/bin/vigil run --slug already -- /opt/x
0 0 31 2 * /usr/bin/never
61 * * * * /bad/minute
0 0 * * * FOO=bar /opt/with-env
@weekly python3 -m app.jobs.cleanup
"""

SYSTEM_CRONTAB = (
    "SHELL=/bin/sh\n"
    "17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n"
    "25 6\t* * *\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )\n"
    "@weekly www-data /usr/bin/php /var/www/cleanup.php\n"
    "*/10 * * * * backup /opt/backup/incremental.sh\n"
)


@pytest.fixture
def lines() -> list[CronLine]:
    parsed = parse_crontab(USER_CRONTAB)
    crontab.assign_slugs(parsed)
    return parsed


def by_line(lines: list[CronLine], lineno: int) -> CronLine:
    return next(line for line in lines if line.lineno == lineno)


def test_line_kinds(lines: list[CronLine]) -> None:
    kinds = {line.lineno: line.kind for line in lines}

    assert len(lines) == 23
    assert [n for n, k in kinds.items() if k == "comment"] == [1, 15]
    assert [n for n, k in kinds.items() if k == "blank"] == [5]
    assert [n for n, k in kinds.items() if k == "env"] == [2, 3, 4, 12, 18]
    assert [n for n, k in kinds.items() if k == "skipped"] == [11]
    assert [n for n, k in kinds.items() if k == "invalid"] == [17, 21]
    assert [n for n, k in kinds.items() if k == "job"] == [6, 7, 8, 9, 10, 13, 14, 16, 19, 20, 22, 23]


def test_env_lines_are_unquoted(lines: list[CronLine]) -> None:
    assert by_line(lines, 2).env == ("SHELL", "/bin/bash")
    assert by_line(lines, 3).env == ("MAILTO", "ops@example.com")
    assert by_line(lines, 4).env == ("PATH", "/usr/local/bin:/usr/bin:/bin")
    assert by_line(lines, 18).env == ("TZ", "Europe/Berlin")


@pytest.mark.parametrize(
    ("lineno", "expression", "command"),
    [
        (6, "*/15 * * * *", "/usr/local/bin/sync-feeds --quiet"),
        (7, "0 2-4 * * 1-5", "/opt/backup/run.sh"),
        (8, "30 6 1,15 * *", "/usr/bin/php /var/www/app/cron.php"),
        (9, "0 9 * jan-mar mon,wed,fri", "/opt/report"),
        (10, "0 0 * * *", "/usr/local/bin/rotate-logs"),
        (16, "0 4 * * 7", "/usr/bin/weekly \\"),
        (20, "0 0 31 2 *", "/usr/bin/never"),
        (23, "0 0 * * 0", "python3 -m app.jobs.cleanup"),
    ],
)
def test_schedules_and_commands(lines: list[CronLine], lineno: int, expression: str, command: str) -> None:
    job = by_line(lines, lineno).job
    assert job is not None
    assert job.expression == expression
    assert job.command == command


def test_time_zone_applies_to_following_lines(lines: list[CronLine]) -> None:
    zones = {line.lineno: line.job.timezone for line in lines if line.job}
    assert zones[6] is None
    assert zones[10] is None
    assert zones[13] == "America/New_York"
    assert zones[16] == "America/New_York"
    assert zones[19] == "Europe/Berlin"
    assert zones[23] == "Europe/Berlin"


def test_notes(lines: list[CronLine]) -> None:
    assert "@reboot" in by_line(lines, 11).notes[0]
    assert any("%" in note for note in by_line(lines, 14).notes)
    assert not any("%" in note for note in by_line(lines, 6).notes)
    assert any("line continuation" in note for note in by_line(lines, 16).notes)
    assert "minute value 61" in by_line(lines, 21).notes[0]
    wrapped = by_line(lines, 19).job
    assert wrapped is not None
    assert wrapped.wrapped


def test_slugs(lines: list[CronLine]) -> None:
    slugs = {line.lineno: line.job.slug for line in lines if line.job and not line.job.wrapped}
    assert len(set(slugs.values())) == len(slugs)
    for slug in slugs.values():
        assert re.fullmatch(r"[a-z0-9_-]{1,100}", slug)
    assert slugs[6].startswith("sync-feeds-")
    assert slugs[7].startswith("run-")
    assert slugs[8].startswith("cron-")
    assert slugs[13].startswith("manage-send_digest-")
    assert slugs[22].startswith("with-env-")
    assert slugs[23].startswith("cleanup-")
    # Stable: the same crontab gives the same slugs.
    again = parse_crontab(USER_CRONTAB)
    crontab.assign_slugs(again)
    assert {line.lineno: line.job.slug for line in again if line.job and not line.job.wrapped} == slugs


def test_repeated_command_gets_distinct_slugs() -> None:
    parsed = parse_crontab("0 1 * * * /opt/job\n0 13 * * * /opt/job\n")
    crontab.assign_slugs(parsed)
    first, second = (line.job.slug for line in parsed if line.job)
    assert first != second
    assert first.startswith("job-")
    assert second.startswith("job-")


def test_long_command_slug_is_capped() -> None:
    slug = crontab.derive_slug("/opt/" + "x" * 300)
    assert len(slug) <= 100
    assert re.fullmatch(r"[a-z0-9_-]+", slug)


@pytest.mark.parametrize(
    ("command", "shell"),
    [
        ("/usr/bin/backup --full /srv", False),
        ("date +%Y", False),
        ("a | b", True),
        ("a > /dev/null 2>&1", True),
        ("a && b", True),
        ("a; b", True),
        ("echo $HOME", True),
        ("echo `date`", True),
        ("rm /tmp/*.log", True),
        ('mail -s "x y" ops', True),
        ("FOO=1 cmd", True),
        ("cd /srv", True),
    ],
)
def test_needs_shell(command: str, shell: bool) -> None:
    assert crontab.needs_shell(command) is shell


def cron_view(line: str) -> tuple[list[str], str | None]:
    """What cron does with a command: split at the first unescaped %, unescape \\%, then sh."""
    cut = crontab._first_unescaped_percent(line)
    head, stdin = (line[:cut], line[cut + 1 :]) if cut >= 0 else (line, None)
    return shlex.split(head.replace("\\%", "%")), stdin


def test_wrapped_shell_command_reaches_inner_shell_intact() -> None:
    command = "cd /srv/app && ./manage.py send_digest > /var/log/digest.log 2>&1"
    argv, stdin = cron_view(crontab.wrap_command(command, "digest-1", "/usr/local/bin/vigil"))
    assert argv == ["/usr/local/bin/vigil", "run", "--slug", "digest-1", "--shell", "--", command]
    assert stdin is None


def test_wrapped_percent_command_keeps_cron_semantics() -> None:
    command = r'date +\%Y-\%m-\%d >> /tmp/dates; mail -s "Report" ops%Body line%second'
    original_argv, original_stdin = cron_view(command)

    argv, stdin = cron_view(crontab.wrap_command(command, "date-1"))

    # The inner shell gets exactly the text the outer one got before, and the same stdin.
    assert argv[:6] == ["vigil", "run", "--slug", "date-1", "--shell", "--"]
    assert shlex.split(argv[6]) == original_argv
    assert stdin == original_stdin == "Body line%second"


def test_plain_command_is_wrapped_without_shell() -> None:
    assert (
        crontab.wrap_command("/opt/backup --full", "backup-1")
        == "vigil run --slug backup-1 -- /opt/backup --full"
    )


def test_rewrite(lines: list[CronLine]) -> None:
    text = crontab.rewrite_crontab(
        lines, "/usr/local/bin/vigil", {"VIGIL_SERVER": "https://v", "VIGIL_PING_KEY": "k"}
    )
    out = text.splitlines()
    original = USER_CRONTAB.splitlines()

    assert text.endswith("\n")
    # Two env lines go in right before the first job (line 6).
    assert out[5:7] == ["VIGIL_SERVER=https://v", "VIGIL_PING_KEY=k"]
    rewritten = out[:5] + out[7:]
    assert len(rewritten) == len(original)
    for lineno, (old, new) in enumerate(zip(original, rewritten, strict=True), 1):
        line = by_line(lines, lineno)
        if line.kind == "job" and line.job and not line.job.wrapped:
            assert new.startswith(line.job.prefix + "/usr/local/bin/vigil run --slug " + line.job.slug)
        else:
            assert new == old
    sync = by_line(lines, 6).job
    assert sync is not None
    assert (
        out[7]
        == f"*/15 * * * * /usr/local/bin/vigil run --slug {sync.slug} -- /usr/local/bin/sync-feeds --quiet"
    )
    # Rewriting again finds nothing new to wrap.
    again = parse_crontab(text)
    crontab.assign_slugs(again)
    assert crontab.rewrite_crontab(again, "/usr/local/bin/vigil", {"VIGIL_SERVER": "x"}) == text


def test_system_crontab_user_column_detected_under_cron_d(tmp_path: Path) -> None:
    path = tmp_path / "cron.d" / "app"
    parsed = parse_crontab(SYSTEM_CRONTAB, path=str(path))
    jobs = [line.job for line in parsed if line.job]

    assert [job.user for job in jobs] == ["root", "root", "www-data", "backup"]
    assert jobs[0].command == "cd / && run-parts --report /etc/cron.hourly"
    assert jobs[2].expression == "0 0 * * 0"
    crontab.assign_slugs(parsed)
    rewritten = crontab.rewrite_crontab(parsed).splitlines()
    assert rewritten[1].startswith("17 *\t* * *\troot    vigil run --slug ")
    assert rewritten[3].startswith("@weekly www-data vigil run --slug cleanup-")


def test_system_crontab_flag_and_user_crontab_default() -> None:
    flagged = [line.job for line in parse_crontab(SYSTEM_CRONTAB, system=True) if line.job]
    assert [job.user for job in flagged] == ["root", "root", "www-data", "backup"]
    # In a user crontab the 6th token is part of the command.
    plain = [line.job for line in parse_crontab(SYSTEM_CRONTAB) if line.job]
    assert [job.user for job in plain] == [None] * 4
    assert plain[3].command == "backup /opt/backup/incremental.sh"


def test_etc_crontab_path_is_system() -> None:
    assert crontab.is_system_crontab_path("/etc/crontab")
    assert crontab.is_system_crontab_path("/etc/cron.d/php")
    assert not crontab.is_system_crontab_path("/var/spool/cron/crontabs/alice")
    assert not crontab.is_system_crontab_path("-")


@pytest.mark.parametrize(
    "line",
    [
        "0 24 * * * x",
        "0 0 0 * * x",
        "0 0 * 13 * x",
        "0 0 * * 8 x",
        "*/0 * * * * x",
        "5-1 * * * * x",
        "@often x",
    ],
)
def test_invalid_fields(line: str) -> None:
    (parsed,) = parse_crontab(line)
    assert parsed.kind == "invalid"


# ---- vigil discover ------------------------------------------------------------------------


def test_discover_dry_run(vigil: VigilRunner, fake_vigil: FakeVigil, tmp_path: Path) -> None:
    path = tmp_path / "crontab"
    path.write_text(USER_CRONTAB)

    result = vigil("discover", "--crontab", str(path), "--vigil-path", "/opt/vigil/bin/vigil")

    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert f"VIGIL_SERVER={fake_vigil.url}\nVIGIL_PING_KEY={PING_KEY}\n" in out
    assert "@daily /opt/vigil/bin/vigil run --slug rotate-logs-" in out
    assert "@reboot /usr/local/bin/warm-cache\n" in out
    err = result.stderr.decode()
    assert f"{path}:11: @reboot" in err
    assert "dry run: 11 jobs found" in err
    assert fake_vigil.requests == []
    assert path.read_text() == USER_CRONTAB


def test_discover_apply_creates_and_updates(
    vigil: VigilRunner, fake_vigil: FakeVigil, tmp_path: Path
) -> None:
    path = tmp_path / "crontab"
    path.write_text("CRON_TZ=Asia/Tokyo\n0 3 * * * /opt/backup\n*/5 * * * * /opt/poll\n")
    parsed = parse_crontab(path.read_text())
    crontab.assign_slugs(parsed)
    poll = parsed[2].job
    assert poll is not None
    poll_slug = poll.slug
    fake_vigil.add_monitor(poll_slug, schedule={"kind": "cron", "expression": "0 * * * *", "timezone": "UTC"})

    result = vigil("discover", "--crontab", str(path), "--apply", env={"VIGIL_PING_KEY": ""})

    assert result.returncode == 0, result.stderr
    writes = fake_vigil.api_writes()
    assert [w.method for w in writes] == ["POST", "PATCH"]
    created = writes[0].json()
    assert created["schedule"] == {"kind": "cron", "expression": "0 3 * * *", "timezone": "Asia/Tokyo"}
    assert created["slug"].startswith("backup-")
    assert writes[1].json() == {
        "schedule": {"kind": "cron", "expression": "*/5 * * * *", "timezone": "Asia/Tokyo"}
    }
    # The ping key came from the API (project/) since VIGIL_PING_KEY was not set.
    assert f"VIGIL_PING_KEY={PING_KEY}" in result.stdout.decode()
    assert path.read_text().startswith("CRON_TZ=Asia/Tokyo\n0 3")  # --apply alone does not write.


def test_discover_write_file_keeps_backup(vigil: VigilRunner, fake_vigil: FakeVigil, tmp_path: Path) -> None:
    path = tmp_path / "jobs"
    original = 'MAILTO=""\n15 4 * * * /opt/nightly --all\n'
    path.write_text(original)
    path.chmod(0o640)

    result = vigil("discover", "--crontab", str(path), "--write", "--timezone", "Europe/Paris")

    assert result.returncode == 0, result.stderr
    (backup,) = tmp_path.glob("jobs.vigil-backup-*")
    assert backup.read_text() == original
    new = path.read_text()
    assert "15 4 * * * " in new
    assert " run --slug nightly-" in new
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    (post,) = fake_vigil.api_writes()
    assert post.json()["schedule"]["timezone"] == "Europe/Paris"
    assert result.stdout == b""


def test_discover_write_user_crontab_via_crontab_command(
    vigil: VigilRunner, fake_vigil: FakeVigil, tmp_path: Path
) -> None:
    # A stand-in `crontab` command: -l prints the current table, - installs stdin.
    table = tmp_path / "table"
    table.write_text("0 6 * * * /usr/bin/report\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "crontab"
    fake.write_text(f'#!/bin/sh\nif [ "$1" = "-l" ]; then cat {table}; else cat > {table}; fi\n')
    fake.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(home)}

    result = vigil("discover", "--write", env=env)

    assert result.returncode == 0, result.stderr
    (backup,) = (home / ".vigil").glob("crontab-backup-*")
    assert backup.read_text() == "0 6 * * * /usr/bin/report\n"
    assert " run --slug report-" in table.read_text()
    assert len(fake_vigil.api_writes()) == 1


def test_discover_apply_needs_api_key(vigil: VigilRunner, tmp_path: Path) -> None:
    path = tmp_path / "crontab"
    path.write_text("0 3 * * * /opt/backup\n")

    result = vigil("discover", "--crontab", str(path), "--apply", env={"VIGIL_API_KEY": ""})

    assert result.returncode == 2
    assert b"VIGIL_API_KEY" in result.stderr
