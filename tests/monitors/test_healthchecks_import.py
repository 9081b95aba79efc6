"""`manage.py import_healthchecks` against a fake Healthchecks API on 127.0.0.1, then the old ping URLs."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from alerts.models import Channel
from monitors.models import Monitor, MonitorStatus, Project
from pings.models import Ping, Run
from tests.alerts.loopback import free_port
from tests.factories import MonitorFactory, ProjectFactory
from tests.monitors.fake_healthchecks import PING_KEY, RO_KEY, RW_KEY, UUIDS, FakeHealthchecks

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
IMPORTED = 7  # every recorded check but the OnCalendar one


@pytest.fixture
def fake() -> Iterator[FakeHealthchecks]:
    with FakeHealthchecks() as running:
        yield running


def run_import(fake: FakeHealthchecks, *extra: str, api_key: str = RW_KEY) -> str:
    out = StringIO()
    call_command("import_healthchecks", "--url", fake.url, "--api-key", api_key, *extra, stdout=out)
    return out.getvalue()


def monitor(key: str) -> Monitor:
    return Monitor.objects.get(ping_uuid=UUIDS[key])


def test_each_check_becomes_a_monitor_with_its_settings(fake: FakeHealthchecks) -> None:
    output = run_import(fake, "--ping-key", PING_KEY, "--project", "Acme")
    project = Project.objects.get(name="Acme")
    assert project.ping_key == PING_KEY
    assert Monitor.objects.filter(project=project).count() == IMPORTED
    assert "7 created, 0 updated, 1 skipped" in output

    backup = monitor("interval")
    assert (backup.name, backup.slug, backup.project) == ("Nightly backup", "nightly-backup", project)
    assert backup.description == "Copies the orders database to S3."
    assert backup.tags == ["prod", "db"]
    assert backup.schedule == {"kind": "interval", "seconds": 86400}
    assert backup.grace_seconds == 900
    assert (backup.paused, backup.status, backup.resume_on_ping, backup.methods) == (
        False,
        MonitorStatus.NEW,
        True,
        "any",
    )

    invoice = monitor("cron")
    assert invoice.schedule == {"kind": "cron", "expression": "30 2 * * 1-5", "timezone": "Europe/Berlin"}
    assert (invoice.grace_seconds, invoice.resume_on_ping) == (1800, False)

    paused = monitor("paused")
    assert (paused.paused, paused.status) == (True, MonitorStatus.PAUSED)
    assert monitor("new").status == MonitorStatus.NEW
    assert monitor("no_slug").slug == "report-mailer"
    assert monitor("post_only").methods == "POST"
    assert monitor("filters").keywords == {
        "success": ["ETL finished", "all good"],
        "failure": ["Traceback", "ERROR"],
        "start": ["ETL starting"],
    }
    assert not Monitor.objects.filter(ping_uuid=UUIDS["oncalendar"]).exists()
    assert "OnCalendar" in output


def test_the_old_ping_urls_are_recorded(fake: FakeHealthchecks, client: Client) -> None:
    run_import(fake, "--ping-key", PING_KEY)
    # Only the host changes in a cron line: /ping/<uuid> and /ping/<ping key>/<slug>.
    assert client.get(f"/ping/{UUIDS['interval']}").status_code == 200
    assert client.post(f"/ping/{UUIDS['cron']}/start").status_code == 200
    assert client.post(f"/ping/{UUIDS['cron']}/0", data=b"done", content_type="text/plain").status_code == 200
    assert client.get(f"/ping/{PING_KEY}/fresh-job/fail").status_code == 200
    assert client.get(f"/ping/{PING_KEY}/report-mailer").status_code == 200
    assert Run.objects.get(monitor=monitor("interval")).status == "success"
    cron_run = Run.objects.get(monitor=monitor("cron"))
    assert (cron_run.status, cron_run.log, cron_run.duration_ms is not None) == ("success", "done", True)
    assert Run.objects.get(monitor=monitor("new")).status == "failed"
    assert Ping.objects.filter(monitor=monitor("no_slug")).count() == 1
    assert client.get(f"/ping/{UUIDS['oncalendar']}").status_code == 404


def test_a_second_run_updates_and_never_duplicates(fake: FakeHealthchecks) -> None:
    run_import(fake, "--project", "Acme")
    project = Project.objects.get(name="Acme")
    ids = set(Monitor.objects.filter(project=project).values_list("id", flat=True))
    fake.checks[0]["name"] = "Nightly backup v2"
    fake.checks[0]["grace"] = 1200
    fake.checks[2]["status"] = "up"  # resumed in Healthchecks
    fake.checks[1]["status"] = "paused"
    output = run_import(fake, "--project", "Acme")
    assert "0 created, 7 updated, 1 skipped" in output
    assert set(Monitor.objects.filter(project=project).values_list("id", flat=True)) == ids
    assert Project.objects.filter(name="Acme").count() == 1
    assert (monitor("interval").name, monitor("interval").grace_seconds) == ("Nightly backup v2", 1200)
    assert monitor("paused").paused is False
    assert monitor("cron").paused is True
    assert monitor("no_slug").slug == "report-mailer"


def test_dry_run_prints_the_plan_and_writes_nothing(fake: FakeHealthchecks) -> None:
    output = run_import(fake, "--dry-run", "--ping-key", PING_KEY)
    assert not Project.objects.exists()
    assert not Monitor.objects.exists()
    lines = output.splitlines()
    header = next(line for line in lines if line.startswith("action"))
    assert header.split() == [
        "action",
        "slug",
        "name",
        "schedule",
        "grace",
        "s",
        "paused",
        "ping",
        "uuid",
        "notes",
    ]
    assert any(
        line.startswith("create") and "nightly-backup" in line and "every 86400 s" in line for line in lines
    )
    assert any("invoice-run" in line and "cron 30 2 * * 1-5 Europe/Berlin" in line for line in lines)
    assert any(line.startswith("skip") and "calendar-job" in line for line in lines)
    # The ping uuid is a secret: the plan shows only its beginning.
    assert UUIDS["interval"] not in output
    assert "Dry run: nothing was written." in output


def test_channels_are_listed_with_what_to_create(fake: FakeHealthchecks) -> None:
    output = run_import(fake, "--dry-run")
    assert "Channels cannot be imported" in output
    email = next(line for line in output.splitlines() if line.startswith("Ops e-mail"))
    assert email.split()[2:4] == ["email", "5"]  # used by five checks
    assert "an email channel" in email
    assert any(line.startswith("#alerts") and "slack channel" in line for line in output.splitlines())
    assert any(line.startswith("Data team") and "apprise" in line for line in output.splitlines())
    assert not Channel.objects.exists()


def test_a_read_only_key_stops_with_the_reason(fake: FakeHealthchecks) -> None:
    with pytest.raises(CommandError, match="read-only"):
        run_import(fake, api_key=RO_KEY)
    assert not Monitor.objects.exists()
    assert not Project.objects.exists()


def test_a_read_only_key_with_new_uuids_imports_and_reruns_match_by_slug(fake: FakeHealthchecks) -> None:
    output = run_import(fake, "--new-uuids", "--ping-key", PING_KEY, api_key=RO_KEY)
    assert "Channels could not be listed" in output
    project = Project.objects.get()
    assert Monitor.objects.filter(project=project).count() == IMPORTED
    assert not Monitor.objects.filter(ping_uuid__in=list(UUIDS.values())).exists()
    run_import(fake, "--new-uuids", "--ping-key", PING_KEY, api_key=RO_KEY)
    assert Monitor.objects.filter(project=project).count() == IMPORTED


def test_a_uuid_used_in_another_project_is_skipped_with_the_reason(fake: FakeHealthchecks) -> None:
    other = MonitorFactory.create(
        project=ProjectFactory.create(name="Elsewhere"), ping_uuid=UUIDS["interval"]
    )
    output = run_import(fake, "--project", "Acme")
    assert "already used in Vigil project 'Elsewhere'" in output
    other.refresh_from_db()
    assert other.project.name == "Elsewhere"
    assert Monitor.objects.filter(project__name="Acme").count() == IMPORTED - 1


def test_a_slug_taken_in_the_project_is_skipped_not_overwritten(fake: FakeHealthchecks) -> None:
    project = ProjectFactory.create(name="Acme")
    mine = MonitorFactory.create(project=project, slug="etl", name="My own ETL")
    output = run_import(fake, "--project", "Acme")
    assert "slug 'etl' is already used" in output
    mine.refresh_from_db()
    assert mine.name == "My own ETL"


def test_a_ping_key_another_project_holds_stops_everything(fake: FakeHealthchecks) -> None:
    ProjectFactory.create(ping_key=PING_KEY)
    with pytest.raises(CommandError, match="already uses this ping key"):
        run_import(fake, "--ping-key", PING_KEY, "--project", "Acme")
    assert not Monitor.objects.exists()


@pytest.mark.parametrize("bad", [str(uuid.uuid4()), "short", "has/slash-in-it-long"])
def test_a_bad_ping_key_stops_everything(fake: FakeHealthchecks, bad: str) -> None:
    with pytest.raises(CommandError, match="--ping-key"):
        run_import(fake, "--ping-key", bad)
    assert not Monitor.objects.exists()


@pytest.mark.parametrize(
    ("mode", "api_key", "message"),
    [
        ("ok", "wrong-key-wrong-key-wrong-key-xx", "refused the API key"),
        ("html", RW_KEY, "did not answer JSON"),
        ("500", RW_KEY, "answered HTTP 500"),
        ("garbage-shape", RW_KEY, "did not answer with a list of checks"),
    ],
)
def test_bad_answers_are_clear_errors(fake: FakeHealthchecks, mode: str, api_key: str, message: str) -> None:
    fake.mode = mode
    with pytest.raises(CommandError, match=message):
        run_import(fake, api_key=api_key)
    assert not Monitor.objects.exists()


def test_an_unreachable_or_malformed_url_is_a_clear_error() -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="cannot reach"):
        call_command(
            "import_healthchecks", "--url", f"http://127.0.0.1:{free_port()}", "--api-key", RW_KEY, stdout=out
        )
    with pytest.raises(CommandError, match="--url must be"):
        call_command("import_healthchecks", "--url", "ftp://hc.example.com", "--api-key", RW_KEY, stdout=out)


def test_the_api_path_may_be_part_of_the_url(fake: FakeHealthchecks) -> None:
    call_command(
        "import_healthchecks",
        "--url",
        f"{fake.url}/api/v3/",
        "--api-key",
        RW_KEY,
        "--dry-run",
        stdout=StringIO(),
    )
    assert fake.requests[0] == ("/api/v3/checks/", RW_KEY)


def test_the_command_line_exits_non_zero_without_a_traceback(fake: FakeHealthchecks, tmp_path: Path) -> None:
    env = {**os.environ, "VIGIL_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "monitorsite.settings"}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "import_healthchecks", "--url", fake.url, "--api-key", "nope" * 8],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refused the API key" in result.stderr
    assert "Traceback" not in result.stderr


def test_pings_to_a_post_only_import_are_still_answered(
    fake: FakeHealthchecks, client: Client, settings: Any
) -> None:
    """The behaviour itself (GET ignored) comes with the ping path; the URL answers either way."""
    run_import(fake)
    assert client.post(f"/ping/{UUIDS['post_only']}").status_code == 200


def test_text_no_database_can_hold_is_cleaned_and_a_slug_with_a_newline_is_replaced(
    fake: FakeHealthchecks,
) -> None:
    fake.checks[0]["name"] = "Nightly\x00 backup \ud800"
    fake.checks[0]["desc"] = "Copies\x00 the database."
    fake.checks[0]["slug"] = "nightly-backup\n"
    fake.checks[0]["tags"] = "prod\x00 db"
    run_import(fake, "--project", "Acme")
    backup = monitor("interval")
    assert (backup.name, backup.description) == ("Nightly backup \ufffd\ufffd\ufffd", "Copies the database.")
    assert backup.slug == "nightly-backup"  # made from the name: the remote slug is no Vigil slug
    assert backup.tags == ["prod", "db"]
