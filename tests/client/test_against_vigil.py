"""The real `vigil` command and SDK against a real Vigil server (pytest-django's live_server).

conftest.py's fake server is for scripting trouble (500s, slow answers); here the server is
Vigil itself, and each test reads back through the ORM what the client's requests stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer
from vigil_client import current_run, monitor, tables
from vigil_client.celery import enable_celery_monitoring

from alerts.models import Channel
from monitors.api_keys import api_key_create
from monitors.models import Monitor, Project, ScheduleKind
from pings.models import Ping, PingKind, Run, RunStatus
from tests.client.conftest import CLIENT_DIR, client_env
from tests.client.test_run_log import stream_lines
from tests.factories import MonitorFactory, ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The console script `pip install ./client` put next to this interpreter; PYTHONPATH (set by
# client_env) makes it import the checkout's vigil_client, not a copy installed earlier.
VIGIL = Path(sys.executable).with_name("vigil")


@dataclass
class LiveVigil:
    url: str
    project: Project
    api_key: str

    def env(self, **extra: str) -> dict[str, str]:
        """What a job host configured for this project has in its environment."""
        configured = {
            "VIGIL_SERVER": self.url,
            "VIGIL_PING_KEY": self.project.ping_key,
            "VIGIL_API_KEY": self.api_key,
            "VIGIL_TIMEOUT": "10",
        }
        return client_env(**{**configured, **extra})

    def __call__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        input: bytes | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(VIGIL), *args],
            env=self.env() if env is None else env,
            input=input,
            capture_output=True,
            timeout=60,
            check=False,
            cwd=cwd,
        )


@pytest.fixture
def live(live_server: LiveServer, project: Project, settings: Settings) -> LiveVigil:
    # Ping URLs the server hands out (the API's ping_url, Monitor.ping_url) point at it.
    settings.SITE_URL = live_server.url
    _, api_key = api_key_create(project=project, name="cli")
    return LiveVigil(live_server.url, project, api_key)


def pings_of(mon: Monitor) -> list[Ping]:
    return list(Ping.objects.filter(monitor=mon).order_by("id"))


def lines(data: bytes) -> list[str]:
    return data.decode().splitlines()


# ---- vigil run --url ---------------------------------------------------------------------------


def test_run_passes_a_failing_job_through_and_stores_its_exit_code_log_and_paired_pings(
    live: LiveVigil,
) -> None:
    mon = MonitorFactory.create(project=live.project)

    # --url needs nothing from the environment.
    result = live(
        "run", "--url", mon.ping_url, "--", "sh", "-c", "echo out; echo err >&2; exit 3", env=client_env()
    )

    assert result.returncode == 3
    assert result.stdout == b"out\n"
    assert result.stderr == b"err\n"  # No warning from vigil: both pings were accepted.
    run = Run.objects.get(monitor=mon)
    assert run.status == RunStatus.FAILED
    assert run.exit_code == 3
    assert "out\n" in run.log
    assert "err\n" in run.log
    assert run.started_at is not None
    assert run.finished_at is not None
    assert run.finished_at >= run.started_at
    assert run.duration_ms is not None
    assert 0 <= run.duration_ms < 30_000
    start, finish = pings_of(mon)
    assert (start.kind, start.exit_code) == (PingKind.START, None)
    assert (finish.kind, finish.exit_code) == (PingKind.EXIT, 3)
    assert run.rid is not None
    assert start.rid == finish.rid == run.rid
    assert start.run_id == finish.run_id == run.id
    assert start.user_agent.startswith("vigil-client/")
    mon.refresh_from_db()
    assert mon.open_runs == 0
    assert mon.last_finish_at == run.finished_at


def test_run_success_sends_meta_with_json_types_and_gives_the_job_its_rid(live: LiveVigil) -> None:
    mon = MonitorFactory.create(project=live.project)

    result = live(
        "run",
        "--url",
        mon.ping_url,
        "--meta",
        "records_processed=0",
        "--meta",
        "ratio=0.5",
        "--meta",
        "dry_run=false",
        "--meta",
        "source=nightly",
        "--",
        "sh",
        "-c",
        'echo "rid=$VIGIL_RID"',
        env=client_env(),
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    run = Run.objects.get(monitor=mon)
    assert run.status == RunStatus.SUCCESS
    assert run.exit_code == 0
    assert run.meta == {"records_processed": 0, "ratio": 0.5, "dry_run": False, "source": "nightly"}
    assert type(run.meta["records_processed"]) is int  # 0, not False: == cannot tell them apart.
    assert run.meta["dry_run"] is False
    assert result.stdout == f"rid={run.rid}\n".encode()
    assert run.log == f"rid={run.rid}\n"


def test_job_output_shaped_like_an_envelope_is_stored_as_log_not_metadata(live: LiveVigil) -> None:
    mon = MonitorFactory.create(project=live.project)
    output = '{"meta": {"records_processed": 1}, "log": "fake"}'

    result = live("run", "--url", mon.ping_url, "--", "printf", output, env=client_env())

    assert result.returncode == 0, result.stderr
    run = Run.objects.get(monitor=mon)
    assert run.log == output
    assert run.meta == {}


def test_output_that_fits_the_servers_limit_is_sent_whole(live: LiveVigil) -> None:
    mon = MonitorFactory.create(project=live.project)
    script = "import sys; sys.stdout.write('x' * 90000 + 'END\\n')"

    result = live("run", "--url", mon.ping_url, "--", sys.executable, "-c", script, env=client_env())

    assert result.returncode == 0, result.stderr
    assert len(result.stdout) == 90004
    run = Run.objects.get(monitor=mon)
    assert run.log == "x" * 90000 + "END\n"
    assert not run.log_truncated


# 1,500 lines of 100 bytes on each stream (300 kB), then a failure.
BOTH_STREAMS = (
    "import sys\n"
    "for n in range(1500):\n"
    "    sys.stdout.write(f'out {n:06d} ' + 'o' * 88 + '\\n')\n"
    "    sys.stderr.write(f'err {n:06d} ' + 'e' * 88 + '\\n')\n"
    "sys.exit(4)\n"
)
CUT = re.compile(r"\[vigil: ([0-9,]+) bytes cut here to fit the server's limit of ([0-9,]+) bytes\]\n")


def test_300_kb_on_both_streams_stores_head_and_tail_told_apart_and_last_failure_prints_it(
    live: LiveVigil, settings: Settings
) -> None:
    mon = MonitorFactory.create(project=live.project, slug="chatty")

    # -u: each stream unbuffered, so their lines alternate as the job writes them.
    result = live("run", "--slug", "chatty", "--", sys.executable, "-u", "-c", BOTH_STREAMS)

    assert result.returncode == 4
    # The job's own streams pass through whole and unchanged.
    assert result.stdout == b"".join(f"out {n:06d} {'o' * 88}\n".encode() for n in range(1500))
    assert result.stderr == b"".join(f"err {n:06d} {'e' * 88}\n".encode() for n in range(1500))
    run = Run.objects.get(monitor=mon)
    assert (run.status, run.exit_code) == (RunStatus.FAILED, 4)
    assert not run.log_truncated  # The client sent no more than the server keeps.
    log = run.log
    assert len(log.encode()) <= settings.PING_BODY_LIMIT
    assert len(log.encode()) > settings.PING_BODY_LIMIT - 1000  # ...and used the room it had.
    match = CUT.search(log)
    assert match is not None
    assert int(match[2].replace(",", "")) == settings.PING_BODY_LIMIT
    head, tail = log[: match.start()], log[match.end() :]
    whole = 1500 * 100 * 2 + 1500 * len("[stderr] ")
    assert int(match[1].replace(",", "")) == whole - len(head) - len(tail)
    # Each stream's lines are told apart and in order: from its first line in the head, up to
    # its last in the tail (which stream leads depends on how the two pipes' reads interleave).
    kept = {"head": stream_lines(head.encode()), "tail": stream_lines(tail.encode())}
    for stream in ("out", "err"):
        in_head, in_tail = kept["head"][stream], kept["tail"][stream]
        assert in_head == list(range(len(in_head))), (stream, in_head)
        assert in_tail == list(range(1500 - len(in_tail), 1500)), (stream, in_tail)
        assert in_head or in_tail, stream
    assert 0 in kept["head"]["out"] + kept["head"]["err"]
    assert 1499 in kept["tail"]["out"] + kept["tail"]["err"]

    last_failure = live("last-failure", "chatty")

    assert last_failure.returncode == 0, last_failure.stderr
    assert last_failure.stdout.decode() == log
    assert "exit code 4" in last_failure.stderr.decode()


def test_the_limit_the_server_announces_is_the_one_used(live: LiveVigil, settings: Settings) -> None:
    settings.PING_BODY_LIMIT = 20_000
    mon = MonitorFactory.create(project=live.project)

    result = live(
        "run", "--url", mon.ping_url, "--", sys.executable, "-u", "-c", BOTH_STREAMS, env=client_env()
    )

    assert result.returncode == 4
    run = Run.objects.get(monitor=mon)
    assert not run.log_truncated  # Sent within the server's limit: nothing cut by the server.
    assert 19_000 < len(run.log.encode()) <= 20_000
    match = CUT.search(run.log)
    assert match is not None
    assert match[2] == "20,000"
    head, tail = run.log[: match.start()], run.log[match.end() :]
    assert 0 in stream_lines(head.encode())["out"] + stream_lines(head.encode())["err"]
    assert 1499 in stream_lines(tail.encode())["out"] + stream_lines(tail.encode())["err"]


def test_output_that_is_not_utf8_still_records_the_run(live: LiveVigil) -> None:
    mon = MonitorFactory.create(project=live.project)

    result = live("run", "--url", mon.ping_url, "--", "printf", "caf\\351 ok\\n", env=client_env())

    assert result.returncode == 0, result.stderr
    assert result.stdout == b"caf\xe9 ok\n"  # Byte for byte to the job's own stdout.
    run = Run.objects.get(monitor=mon)
    assert run.status == RunStatus.SUCCESS
    assert run.log.startswith("caf")
    assert run.log.endswith(" ok\n")


def test_a_command_that_does_not_exist_is_a_failed_run_with_status_127(live: LiveVigil) -> None:
    mon = MonitorFactory.create(project=live.project)

    result = live("run", "--url", mon.ping_url, "--", "no-such-command-here", env=client_env())

    assert result.returncode == 127
    run = Run.objects.get(monitor=mon)
    assert run.status == RunStatus.FAILED
    assert run.exit_code == 127
    assert "no-such-command-here: command not found" in run.log


# ---- vigil run --slug --------------------------------------------------------------------------


def test_run_by_slug_reports_to_the_projects_monitor(live: LiveVigil) -> None:
    mon = MonitorFactory.create(project=live.project, slug="nightly-backup")
    # The same slug in another project must not receive the run.
    elsewhere = MonitorFactory.create(project=ProjectFactory.create(), slug="nightly-backup")

    result = live("run", "--slug", "nightly-backup", "--", "sh", "-c", "echo backed up")

    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    run = Run.objects.get(monitor=mon)
    assert (run.status, run.exit_code, run.log) == (RunStatus.SUCCESS, 0, "backed up\n")
    assert [p.kind for p in pings_of(mon)] == [PingKind.START, PingKind.EXIT]
    assert not Ping.objects.filter(monitor=elsewhere).exists()


def test_run_by_unknown_slug_without_create_runs_the_job_and_creates_nothing(live: LiveVigil) -> None:
    result = live("run", "--slug", "not-there", "--", "sh", "-c", "echo still ran; exit 4")

    assert result.returncode == 4
    assert result.stdout == b"still ran\n"
    warning = lines(result.stderr)
    assert len(warning) == 1, warning  # One line, however many pings failed.
    assert "404" in warning[0]
    assert not Monitor.objects.filter(slug="not-there").exists()
    assert not Ping.objects.exists()


def test_run_by_slug_with_create_makes_a_monitor_with_the_contract_defaults(live: LiveVigil) -> None:
    ours = [
        Channel.objects.create(project=live.project, kind="email", name="ops", config={"to": ["a@x.test"]}),
        Channel.objects.create(project=live.project, kind="webhook", name="hook", config={"url": "http://x"}),
    ]
    Channel.objects.create(project=ProjectFactory.create(), kind="email", name="theirs", config={"to": []})

    result = live("run", "--slug", "new-job", "--create", "--", "sh", "-c", "echo hi")

    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    mon = Monitor.objects.get(project=live.project, slug="new-job")
    assert mon.schedule == {"kind": "interval", "seconds": 86400}
    assert mon.grace_seconds == 3600
    assert sorted(c.id for c in mon.channels.all()) == sorted(c.id for c in ours)
    run = Run.objects.get(monitor=mon)
    assert (run.status, run.log) == (RunStatus.SUCCESS, "hi\n")
    assert [p.run_id for p in pings_of(mon)] == [run.id, run.id]

    again = live("run", "--slug", "new-job", "--create", "--", "true")

    assert again.returncode == 0, again.stderr
    assert Monitor.objects.filter(slug="new-job").count() == 1
    assert Run.objects.filter(monitor=mon).count() == 2


def test_create_with_a_wrong_ping_key_creates_nothing(live: LiveVigil) -> None:
    env = live.env(VIGIL_PING_KEY="wrong-key-1234567890ab")

    result = live("run", "--slug", "new-job", "--create", "--", "true", env=env)

    assert result.returncode == 0
    assert "404" in result.stderr.decode()
    assert not Monitor.objects.filter(slug="new-job").exists()


# ---- vigil ping --------------------------------------------------------------------------------


def test_ping_start_then_success_with_one_rid_is_one_run(live: LiveVigil) -> None:
    mon = MonitorFactory.create(project=live.project, slug="db-sync")
    rid = str(uuid.uuid4())

    started = live("ping", "start", "--slug", "db-sync", "--rid", rid)
    finished = live(
        "ping", "--slug", "db-sync", "--rid", rid, "--data", "synced 42 tables", "--meta", "tables=42"
    )

    for result in (started, finished):
        assert result.returncode == 0, result.stderr
        assert (result.stdout, result.stderr) == (b"", b"")
    run = Run.objects.get(monitor=mon)
    assert str(run.rid) == rid
    assert run.status == RunStatus.SUCCESS
    assert run.log == "synced 42 tables"
    assert run.meta == {"tables": 42}
    assert run.duration_ms is not None
    assert [p.kind for p in pings_of(mon)] == [PingKind.START, PingKind.SUCCESS]


def test_ping_fail_with_the_log_from_stdin(live: LiveVigil) -> None:
    mon = MonitorFactory.create(project=live.project)

    result = live("ping", "fail", "--url", mon.ping_url, "--data-file", "-", input=b"disk full\n")

    assert result.returncode == 0, result.stderr
    run = Run.objects.get(monitor=mon)
    assert (run.status, run.exit_code, run.log) == (RunStatus.FAILED, None, "disk full\n")
    assert run.duration_ms is None  # No start: a run of its own.


def test_ping_log_changes_nothing_and_an_exit_code_finishes(live: LiveVigil, tmp_path: Path) -> None:
    mon = MonitorFactory.create(project=live.project)
    log_file = tmp_path / "job.log"
    log_file.write_text("step 1 of 3\n")

    logged = live("ping", "log", "--url", mon.ping_url, "--data-file", str(log_file))

    assert logged.returncode == 0, logged.stderr
    (ping,) = pings_of(mon)
    assert (ping.kind, ping.body) == (PingKind.LOG, "step 1 of 3\n")
    assert not Run.objects.filter(monitor=mon).exists()
    assert Monitor.objects.get(id=mon.id).last_finish_at is None

    exited = live("ping", "3", "--url", mon.ping_url)

    assert exited.returncode == 0, exited.stderr
    run = Run.objects.get(monitor=mon)
    assert (run.status, run.exit_code) == (RunStatus.FAILED, 3)


def test_ping_create_by_slug(live: LiveVigil) -> None:
    result = live("ping", "--slug", "fresh", "--create")

    assert result.returncode == 0, result.stderr
    mon = Monitor.objects.get(project=live.project, slug="fresh")
    assert Run.objects.get(monitor=mon).status == RunStatus.SUCCESS


def test_ping_to_an_unknown_monitor_exits_1_with_one_line(live: LiveVigil) -> None:
    result = live("ping", "--url", f"{live.url}/ping/{uuid.uuid4()}")

    assert result.returncode == 1
    (line,) = lines(result.stderr)
    assert "404" in line
    assert "unknown monitor" in line


# ---- vigil discover ----------------------------------------------------------------------------

CRONTAB = """\
MAILTO=ops@example.com
0 3 * * * /usr/local/bin/backup --full
CRON_TZ=Europe/Berlin
*/15 * * * * cd /srv/app && ./sync.sh > /dev/null 2>&1
30 6 * * 1-5 echo report
# The POSIX TZ form: a colon, then the zone file's name.
CRON_TZ=:Asia/Tokyo
0 12 * * mon-fri /opt/lunch
@reboot /usr/bin/startup
"""


def test_discover_apply_creates_cron_monitors_and_a_crontab_that_reports_to_them(
    live: LiveVigil, tmp_path: Path
) -> None:
    path = tmp_path / "crontab"
    path.write_text(CRONTAB)
    # No VIGIL_PING_KEY: discover takes the project's from the API.
    env = live.env(VIGIL_PING_KEY="")

    result = live("discover", "--crontab", str(path), "--apply", "--timezone", "America/New_York", env=env)

    assert result.returncode == 0, result.stderr
    monitors = {m.cron_expression: m for m in Monitor.objects.filter(project=live.project)}
    assert sorted(monitors) == ["*/15 * * * *", "0 12 * * mon-fri", "0 3 * * *", "30 6 * * 1-5"]
    assert all(m.schedule_kind == ScheduleKind.CRON for m in monitors.values())
    assert monitors["0 3 * * *"].timezone == "America/New_York"
    assert monitors["*/15 * * * *"].timezone == "Europe/Berlin"
    assert monitors["30 6 * * 1-5"].timezone == "Europe/Berlin"
    assert monitors["0 12 * * mon-fri"].timezone == "Asia/Tokyo"
    assert all(m.tags == ["cron"] for m in monitors.values())
    backup = monitors["0 3 * * *"]
    assert backup.slug.startswith("backup-")
    assert backup.name == "/usr/local/bin/backup --full"
    stderr = result.stderr.decode()
    assert "@reboot" in stderr
    assert all(f"created {m.slug}" in stderr for m in monitors.values())
    crontab = lines(result.stdout)
    assert f"VIGIL_SERVER={live.url}" in crontab
    assert f"VIGIL_PING_KEY={live.project.ping_key}" in crontab
    assert "@reboot /usr/bin/startup" in crontab
    report = monitors["30 6 * * 1-5"]
    (job_line,) = [line for line in crontab if f"--slug {report.slug} " in line]

    # Run the job as cron would: sh -c with the command part and the crontab's variables.
    command = job_line.split(None, 5)[5]
    cron_env = {**client_env(), "VIGIL_SERVER": live.url, "VIGIL_PING_KEY": live.project.ping_key}
    job = subprocess.run(["sh", "-c", command], env=cron_env, capture_output=True, timeout=60, check=False)

    assert job.returncode == 0, job.stderr
    assert job.stdout == b"report\n"
    run = Run.objects.get(monitor=report)
    assert (run.status, run.log) == (RunStatus.SUCCESS, "report\n")


def test_discover_apply_again_leaves_monitors_and_updates_only_changed_schedules(
    live: LiveVigil, tmp_path: Path
) -> None:
    path = tmp_path / "crontab"
    path.write_text(CRONTAB)
    args = ("discover", "--crontab", str(path), "--apply", "--timezone", "UTC")
    assert live(*args).returncode == 0
    before = {m.slug: m for m in Monitor.objects.filter(project=live.project)}

    unchanged = live(*args)

    assert unchanged.returncode == 0, unchanged.stderr
    assert all(f"unchanged {slug}" in unchanged.stderr.decode() for slug in before)
    assert Monitor.objects.filter(project=live.project).count() == 4

    backup = next(m for m in before.values() if m.cron_expression == "0 3 * * *")
    Monitor.objects.filter(id=backup.id).update(name="Backup (renamed on the server)")
    path.write_text(CRONTAB.replace("0 3 * * * /usr", "0 4 * * * /usr"))

    updated = live(*args)

    assert updated.returncode == 0, updated.stderr
    assert f"updated {backup.slug} (0 4 * * *, UTC)" in updated.stderr.decode()
    backup.refresh_from_db()
    assert backup.cron_expression == "0 4 * * *"
    assert backup.name == "Backup (renamed on the server)"  # Only the schedule is synced.
    assert Monitor.objects.filter(project=live.project).count() == 4


# ---- vigil status, history, last-failure -------------------------------------------------------


def test_status_history_and_last_failure_show_the_servers_runs(live: LiveVigil) -> None:
    backup = MonitorFactory.create(project=live.project, slug="nightly-backup", tags=["db"])
    MonitorFactory.create(project=live.project, slug="report")
    assert live("run", "--slug", "nightly-backup", "--", "sh", "-c", "echo fine").returncode == 0
    failing = "echo 'copying'; echo 'ERROR disk full' >&2; exit 2"
    assert live("run", "--slug", "nightly-backup", "--", "sh", "-c", failing).returncode == 2
    backup.refresh_from_db()

    status = live("status")

    assert status.returncode == 0, status.stderr
    header, *rows = lines(status.stdout)
    assert header.split()[:2] == ["SLUG", "STATUS"]
    by_slug = {row.split()[0]: row.split()[1] for row in rows}
    assert by_slug == {"nightly-backup": backup.status, "report": "new"}

    tagged = live("status", "--tag", "db", "--json")

    assert tagged.returncode == 0, tagged.stderr
    (shown,) = json.loads(tagged.stdout)
    assert (shown["slug"], shown["status"]) == ("nightly-backup", backup.status)
    assert shown["last_duration_ms"] == backup.last_duration_ms
    searched = live("status", "-q", "report", "--json")
    assert [m["slug"] for m in json.loads(searched.stdout)] == ["report"]

    history = live("history", "nightly-backup")

    assert history.returncode == 0, history.stderr
    header, newest, oldest = lines(history.stdout)
    assert header.split() == ["STARTED", "FINISHED", "STATUS", "DURATION", "EXIT"]
    assert newest.split()[-1] == "2"
    assert "failed" in newest.split()
    assert oldest.split()[-1] == "0"
    assert "success" in oldest.split()

    last_failure = live("last-failure", "nightly-backup")

    assert last_failure.returncode == 0, last_failure.stderr
    failed_run = Run.objects.get(monitor=backup, status=RunStatus.FAILED)
    assert last_failure.stdout.decode() == failed_run.log
    assert "ERROR disk full" in failed_run.log
    assert "exit code 2" in last_failure.stderr.decode()

    never_failed = live("last-failure", "report")

    assert never_failed.returncode == 1
    assert "no failed runs" in never_failed.stderr.decode()


def test_history_all_lists_the_projects_failed_runs_and_never_anothers(live: LiveVigil) -> None:
    MonitorFactory.create(project=live.project, slug="backup", tags=["db"])
    MonitorFactory.create(project=live.project, slug="report")
    theirs = MonitorFactory.create(project=ProjectFactory.create(), slug="backup", tags=["db"])
    for slug, command in [
        ("backup", "exit 3"),
        ("report", "exit 0"),
        ("report", "echo oops >&2; exit 5"),
        ("backup", "exit 0"),
    ]:
        assert live("run", "--slug", slug, "--", "sh", "-c", command).returncode in (0, 3, 5)
    theirs.runs.create(status=RunStatus.FAILED, finished_at=theirs.created_at, exit_code=9)

    failed = live("history", "--all", "--since", "24h", "--failed")

    assert failed.returncode == 0, failed.stderr
    header, *rows = lines(failed.stdout)
    assert header.split() == ["MONITOR", "STARTED", "FINISHED", "STATUS", "DURATION", "EXIT"]
    assert [(row.split()[0], row.split()[-1]) for row in rows] == [("report", "5"), ("backup", "3")]
    assert all("failed" in row.split() for row in rows)

    everything = live("history", "--all", "--json")
    by_tag = live("history", "--all", "--tag", "db", "--json")
    by_monitor = live("history", "--all", "--monitor", "report", "--status", "success", "--json")
    few = live("history", "--all", "-n", "1")

    assert [(r["monitor"]["slug"], r["status"]) for r in json.loads(everything.stdout)] == [
        ("backup", "success"),
        ("report", "failed"),
        ("report", "success"),
        ("backup", "failed"),
    ]
    assert [r["status"] for r in json.loads(by_tag.stdout)] == ["success", "failed"]
    assert {r["monitor"]["slug"] for r in json.loads(by_tag.stdout)} == {"backup"}
    assert [(r["monitor"]["slug"], r["exit_code"]) for r in json.loads(by_monitor.stdout)] == [("report", 0)]
    assert len(lines(few.stdout)) == 2
    assert "1 of 4 runs shown" in few.stderr.decode()

    bad = live("history", "--all", "--since", "yesterday")

    assert bad.returncode == 1
    assert "HTTP 400" in bad.stderr.decode()
    assert "since" in bad.stderr.decode()


def test_stats_prints_the_servers_figures(live: LiveVigil) -> None:
    mon = MonitorFactory.create(project=live.project, slug="nightly", name="Nightly import")
    for command in ("sleep 0.2", "sleep 0.4", "echo broken; exit 6"):
        live("run", "--slug", "nightly", "--", "sh", "-c", command)
    failure = Run.objects.get(monitor=mon, status=RunStatus.FAILED)
    successes = Run.objects.filter(monitor=mon, status=RunStatus.SUCCESS)
    durations = sorted(run.duration_ms or 0 for run in successes)

    text = live("stats", "nightly")
    as_json = live("stats", "nightly", "--json")

    assert text.returncode == 0, text.stderr
    shown = lines(text.stdout)
    assert shown[0].split() == ["monitor", "nightly", "(Nightly", "import)"]
    assert shown[1].split() == [
        "success",
        "rate",
        "24h:",
        "66.7",
        "%",
        "7d:",
        "66.7",
        "%",
        "30d:",
        "66.7",
        "%",
    ]
    assert f"p50 {tables.format_duration(durations[0])}" in shown[2]
    assert f"p95 {tables.format_duration(durations[1])}" in shown[2]
    assert shown[3].split() == ["failures", "1", "in", "the", "last", "24", "hours"]
    assert shown[4].endswith(f"exit code 6 (run {failure.id})")
    figures = json.loads(as_json.stdout)
    assert figures["success_rate"] == {"24h": 0.6667, "7d": 0.6667, "30d": 0.6667}
    assert figures["duration_ms"] == {"p50": durations[0], "p95": durations[1]}
    assert figures["last_failure"]["log"] == "broken\n"

    read_only_key = api_key_create(project=live.project, name="viewer", read_only=True)[1]
    viewer = live("stats", "nightly", "--json", env=live.env(VIGIL_API_KEY=read_only_key))

    assert viewer.returncode == 0, viewer.stderr
    assert json.loads(viewer.stdout) == figures


def test_status_follows_every_page_of_the_servers_list(live: LiveVigil) -> None:
    MonitorFactory.create_batch(55, project=live.project)  # More than the API's page of 50.
    MonitorFactory.create(project=ProjectFactory.create(), slug="not-ours")

    result = live("status", "--json")

    assert result.returncode == 0, result.stderr
    slugs = sorted(m["slug"] for m in json.loads(result.stdout))
    assert slugs == sorted(Monitor.objects.filter(project=live.project).values_list("slug", flat=True))
    assert len(slugs) == 55


def test_api_commands_with_a_wrong_key_or_unknown_slug_fail_with_one_line(live: LiveVigil) -> None:
    wrong_key = live("status", env=live.env(VIGIL_API_KEY="vgl_0000_not-a-key"))
    unknown = live("history", "nope")

    for result in (wrong_key, unknown):
        assert result.returncode == 1
        assert len(lines(result.stderr)) == 1, result.stderr
    assert "401" in wrong_key.stderr.decode() or "403" in wrong_key.stderr.decode()
    assert "no monitor with slug 'nope'" in unknown.stderr.decode()


# ---- vigil apply -------------------------------------------------------------------------------

# The README's example (its rule in the file's symbolic form) plus a rule in the API's own terms.
MONITORS_TOML = """\
[[monitor]]
slug = "nightly-backup"
name = "Nightly backup"
schedule = "0 3 * * *"
timezone = "Europe/Berlin"
grace = "30m"
max_duration = "2h"
tags = ["db"]
channels = ["ops-slack"]
failure_threshold = 2

[[monitor.rule]]
field = "duration"
op = ">"
value = 3600

[[monitor.rule]]
field = "records_processed"
op = "lt"
value = 1

[[monitor]]
slug = "heartbeat"
interval = "5m"
grace = 60
"""


def test_apply_creates_then_finds_nothing_to_change_then_updates(live: LiveVigil, tmp_path: Path) -> None:
    slack = Channel.objects.create(
        project=live.project, kind="slack", name="ops-slack", config={"url": "https://hooks.slack.test/x"}
    )
    path = tmp_path / "monitors.toml"
    path.write_text(MONITORS_TOML)

    created = live("apply", str(path))

    assert created.returncode == 0, created.stderr
    assert lines(created.stdout) == [
        "+ nightly-backup: created",
        "+ heartbeat: created",
        "2 created",
    ]
    backup = Monitor.objects.get(project=live.project, slug="nightly-backup")
    assert backup.name == "Nightly backup"
    assert backup.schedule == {"kind": "cron", "expression": "0 3 * * *", "timezone": "Europe/Berlin"}
    assert (backup.grace_seconds, backup.max_duration_seconds) == (1800, 7200)
    assert backup.tags == ["db"]
    assert backup.failure_threshold == 2
    assert list(backup.channels.all()) == [slack]
    assert backup.rules == [
        {"field": "duration_ms", "op": "gt", "value": 3_600_000},
        {"field": "records_processed", "op": "lt", "value": 1},
    ]
    heartbeat = Monitor.objects.get(project=live.project, slug="heartbeat")
    assert heartbeat.schedule == {"kind": "interval", "seconds": 300}
    assert heartbeat.grace_seconds == 60

    # What the server stored reads back as equal to the file: nothing to do.
    again = live("apply", str(path))

    assert again.returncode == 0, again.stderr
    assert lines(again.stdout) == ["= nightly-backup: unchanged", "= heartbeat: unchanged", "2 unchanged"]

    path.write_text(MONITORS_TOML.replace('grace = "30m"', 'grace = "1h"'))
    dry_run = live("apply", str(path), "--dry-run")

    assert dry_run.returncode == 0, dry_run.stderr
    assert "    grace_seconds: 1800 -> 3600" in lines(dry_run.stdout)
    assert Monitor.objects.get(id=backup.id).grace_seconds == 1800

    updated = live("apply", str(path))

    assert updated.returncode == 0, updated.stderr
    assert lines(updated.stdout) == [
        "~ nightly-backup: updated",
        "    grace_seconds: 1800 -> 3600",
        "= heartbeat: unchanged",
        "1 updated, 1 unchanged",
    ]
    backup.refresh_from_db()
    assert backup.grace_seconds == 3600
    assert backup.name == "Nightly backup"


def test_apply_prune_deletes_only_this_projects_undeclared_monitors(live: LiveVigil, tmp_path: Path) -> None:
    Channel.objects.create(project=live.project, kind="slack", name="ops-slack", config={"url": "https://x"})
    MonitorFactory.create(project=live.project, slug="old-job")
    theirs = MonitorFactory.create(project=ProjectFactory.create(), slug="old-job")
    path = tmp_path / "monitors.toml"
    path.write_text(MONITORS_TOML)

    result = live("apply", str(path), "--prune")

    assert result.returncode == 0, result.stderr
    assert "- old-job: deleted" in lines(result.stdout)
    slugs = set(Monitor.objects.filter(project=live.project).values_list("slug", flat=True))
    assert slugs == {"nightly-backup", "heartbeat"}
    assert Monitor.objects.filter(id=theirs.id).exists()


def test_apply_reports_the_servers_reason_for_a_rejected_monitor(live: LiveVigil, tmp_path: Path) -> None:
    path = tmp_path / "monitors.toml"
    path.write_text('[[monitor]]\nslug = "bad"\nschedule = "0 3 * * *"\ntimezone = "Mars/Olympus"\n')

    result = live("apply", str(path))

    assert result.returncode == 1
    assert "HTTP 400" in result.stderr.decode()
    assert not Monitor.objects.filter(slug="bad").exists()


# ---- SDK, in this process, against the live server ---------------------------------------------


@pytest.fixture
def sdk_env(live: LiveVigil, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> LiveVigil:
    monkeypatch.setenv("VIGIL_SERVER", live.url)
    monkeypatch.setenv("VIGIL_PING_KEY", live.project.ping_key)
    monkeypatch.delenv("VIGIL_API_KEY", raising=False)
    caplog.set_level(logging.WARNING, logger="vigil_client")
    return live


def no_client_warnings(caplog: pytest.LogCaptureFixture) -> bool:
    return not [r for r in caplog.records if r.name.startswith("vigil_client")]


def test_sdk_with_block_reports_success_with_meta(
    sdk_env: LiveVigil, caplog: pytest.LogCaptureFixture
) -> None:
    with monitor("import-orders") as run:
        run.meta(records_processed=5)
        run.log("imported 5 orders")

    mon = Monitor.objects.get(project=sdk_env.project, slug="import-orders")
    assert mon.schedule == {"kind": "interval", "seconds": 86400}  # Created by ?create=1.
    stored = Run.objects.get(monitor=mon)
    assert stored.status == RunStatus.SUCCESS
    assert stored.meta == {"records_processed": 5}
    assert stored.log == "imported 5 orders\n"
    assert str(stored.rid) == run.rid
    assert [p.kind for p in pings_of(mon)] == [PingKind.START, PingKind.SUCCESS]
    assert no_client_warnings(caplog)


def test_sdk_decorator_defines_the_monitor_and_reports_an_exception_with_its_traceback(
    sdk_env: LiveVigil, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("VIGIL_API_KEY", sdk_env.api_key)

    @monitor("nightly-report", schedule="0 3 * * *", timezone="Europe/Berlin", grace="30m")
    def nightly_report() -> None:
        run = current_run()
        assert run is not None
        run.meta(files=3)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        nightly_report()

    mon = Monitor.objects.get(project=sdk_env.project, slug="nightly-report")
    assert mon.schedule == {"kind": "cron", "expression": "0 3 * * *", "timezone": "Europe/Berlin"}
    assert mon.grace_seconds == 1800
    stored = Run.objects.get(monitor=mon)
    assert stored.status == RunStatus.FAILED
    assert stored.meta == {"files": 3}
    assert stored.log.startswith("Traceback (most recent call last):")
    assert "RuntimeError: disk full" in stored.log
    assert "nightly_report" in stored.log
    assert no_client_warnings(caplog)


def test_sdk_definition_updates_an_existing_monitor_through_the_api(
    sdk_env: LiveVigil, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    existing = MonitorFactory.create(project=sdk_env.project, slug="heartbeat", name="Heartbeat")
    monkeypatch.setenv("VIGIL_API_KEY", sdk_env.api_key)

    with monitor("heartbeat", interval="5m", grace=60):
        pass

    existing.refresh_from_db()
    assert existing.schedule == {"kind": "interval", "seconds": 300}
    assert existing.grace_seconds == 60
    assert existing.name == "Heartbeat"  # Not part of the definition: left alone.
    assert Run.objects.get(monitor=existing).status == RunStatus.SUCCESS
    assert Monitor.objects.filter(slug="heartbeat").count() == 1
    assert no_client_warnings(caplog)


def test_sdk_sys_exit_code_and_async_functions(sdk_env: LiveVigil, caplog: pytest.LogCaptureFixture) -> None:
    @monitor("exits")
    def exits() -> None:
        sys.exit(3)

    @monitor("async-job")
    async def async_job() -> int:
        await asyncio.sleep(0)
        return 7

    with pytest.raises(SystemExit):
        exits()
    assert asyncio.run(async_job()) == 7

    exited = Run.objects.get(monitor__project=sdk_env.project, monitor__slug="exits")
    assert (exited.status, exited.exit_code) == (RunStatus.FAILED, 3)
    awaited = Run.objects.get(monitor__project=sdk_env.project, monitor__slug="async-job")
    assert awaited.status == RunStatus.SUCCESS
    assert no_client_warnings(caplog)


# ---- Celery beat entries --------------------------------------------------------------------------

BEAT_JOBS = """\
from datetime import timedelta

from celery import Celery
from celery.schedules import crontab

app = Celery("beat_jobs", set_as_current=False)
app.conf.timezone = "Europe/Berlin"
app.conf.beat_schedule = {
    "every-minute": {"task": "beat_jobs.tick", "schedule": 60.0},
    "weekly-report": {"task": "beat_jobs.report", "schedule": crontab(minute=0, hour=6, day_of_week="mon")},
    "hourly-sync": {"task": "beat_jobs.sync", "schedule": timedelta(hours=1)},
    "odd-one": {"task": "beat_jobs.odd", "schedule": crontab(minute=0, day_of_month=1, day_of_week=1)},
}


@app.task(name="beat_jobs.tick")
def tick():
    return "tick"
"""


def test_celery_beat_entries_get_honest_monitors_and_the_silent_ones_are_listed(
    live: LiveVigil, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "beat_jobs.py").write_text(BEAT_JOBS)
    # Made by an earlier first ping (?create=1): the server's default day, and it did ping.
    weekly = MonitorFactory.create(
        project=live.project, slug="weekly-report", name="Weekly report", interval_seconds=86400
    )
    Monitor.objects.filter(id=weekly.id).update(last_ping_at=weekly.created_at)

    applied = live("celery", "--app", "beat_jobs:app", "--apply", cwd=tmp_path)

    assert applied.returncode == 0, applied.stderr
    monitors = {m.slug: m for m in Monitor.objects.filter(project=live.project)}
    assert sorted(monitors) == ["every-minute", "hourly-sync", "weekly-report"]
    assert (monitors["every-minute"].schedule, monitors["every-minute"].grace_seconds) == (
        {"kind": "interval", "seconds": 60},
        60,
    )
    assert monitors["every-minute"].tags == ["celery"]
    assert monitors["hourly-sync"].schedule == {"kind": "interval", "seconds": 3600}
    assert monitors["weekly-report"].schedule == {
        "kind": "cron",
        "expression": "0 6 * * 1",
        "timezone": "Europe/Berlin",
    }
    assert monitors["weekly-report"].name == "Weekly report"  # Only the schedule is synced.
    rows = {line.split()[0]: line for line in lines(applied.stdout)[1:5]}
    assert "created" in rows["every-minute"]
    assert "updated: every 1d -> cron 0 6 * * 1 (Europe/Berlin)" in rows["weekly-report"]
    assert "not mapped: day_of_month and day_of_week are both set" in rows["odd-one"]
    assert lines(applied.stdout)[-1] == "Never pinged (3 of 4): every-minute, hourly-sync, odd-one"

    # A worker with the integration enabled runs one of the tasks.
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "beat_jobs", raising=False)
    from beat_jobs import app

    handle = enable_celery_monitoring(
        app, server=live.url, ping_key=live.project.ping_key, api_key=live.api_key, timeout=10
    )
    try:
        assert app.tasks["beat_jobs.tick"].apply().get() == "tick"
        assert handle.synced.wait(10)
    finally:
        handle.disconnect()
        sys.modules.pop("beat_jobs", None)
    assert [r.action for r in handle.sync_results] == ["unchanged", "unchanged", "unchanged", "skipped"]
    run = Run.objects.get(monitor=monitors["every-minute"])
    assert run.status == RunStatus.SUCCESS

    report = live("celery", "--app", "beat_jobs", "--json", cwd=tmp_path)

    assert report.returncode == 0, report.stderr
    entries = {entry["slug"]: entry for entry in json.loads(report.stdout)}
    assert {slug for slug, entry in entries.items() if entry["never_pinged"]} == {"hourly-sync", "odd-one"}
    assert entries["every-minute"]["last_ping_at"] is not None
    assert entries["odd-one"]["monitor"] is None
    assert entries["weekly-report"]["schedule"]["expression"] == "0 6 * * 1"
    assert Monitor.objects.filter(project=live.project).count() == 3  # No --apply: nothing written.


def test_celery_command_with_a_module_that_is_not_there(live: LiveVigil, tmp_path: Path) -> None:
    result = live("celery", "--app", "no_such_module:app", cwd=tmp_path)

    assert result.returncode == 2
    assert "cannot import 'no_such_module'" in result.stderr.decode()


# ---- installing the client on a job host -------------------------------------------------------


@pytest.mark.slow
def test_client_installs_without_django_into_a_clean_venv_and_reports(
    live: LiveVigil, tmp_path: Path
) -> None:
    # A copy: building writes build/ and *.egg-info next to the sources.
    source = tmp_path / "client"
    shutil.copytree(CLIENT_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    # `pip install ./client` as the README says, with this pip driving the new interpreter. The
    # isolated build fetches setuptools from the index; Django is nowhere in the new venv.
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "--quiet"]
    subprocess.run([*pip, "--python", str(python), "install", str(source)], check=True, timeout=120)
    host_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LC_ALL": "C.UTF-8"}

    def on_host(*argv: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in argv], env=host_env, capture_output=True, text=True, timeout=60, check=False
        )

    helped = on_host(venv / "bin" / "vigil", "--help")
    assert helped.returncode == 0, helped.stderr
    assert all(command in helped.stdout for command in ("run", "ping", "discover", "apply"))
    no_django = on_host(python, "-c", "import django")
    assert no_django.returncode == 1
    assert "No module named 'django'" in no_django.stderr
    imports = on_host(
        python,
        "-c",
        "import vigil_client, vigil_client.cli, vigil_client.celery, vigil_client.sdk; "
        "import pathlib; print(pathlib.Path(vigil_client.__file__).parent)",
    )
    assert imports.returncode == 0, imports.stderr
    installed = Path(imports.stdout.strip())
    assert installed.is_relative_to(venv)
    assert (installed / "py.typed").exists()

    mon = MonitorFactory.create(project=live.project)
    job = on_host(
        venv / "bin" / "vigil", "run", "--url", mon.ping_url, "--", "sh", "-c", "echo from the host"
    )

    assert job.returncode == 0, job.stderr
    assert job.stdout == "from the host\n"
    run = Run.objects.get(monitor=mon)
    assert (run.status, run.log) == (RunStatus.SUCCESS, "from the host\n")
