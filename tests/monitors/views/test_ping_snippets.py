"""The snippets a monitor's page offers work as shown: each is copied from the page, run in a
real shell (or Python) against a live server, and records the run it promises."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from monitors.models import Monitor, Project
from monitors.ping_snippets import JOB
from pings.models import Run
from tests.factories import MonitorFactory, member

pytestmark = pytest.mark.django_db(transaction=True)
BIN = Path(sys.executable).parent


@pytest.fixture
def monitor(live_server: LiveServer, settings: Settings, project: Project) -> Monitor:
    settings.SITE_URL = live_server.url
    return MonitorFactory.create(project=project, name="Snippet job")


@pytest.fixture
def snippets(monitor: Monitor, project: Project) -> dict[str, str]:
    """Every snippet as the page shows it (the text a Copy button copies)."""
    client = Client()
    client.force_login(member(project))
    page = client.get(f"/monitors/{monitor.id}/").content.decode()
    found = re.findall(r'<code id="snippet-([a-z-]+)">(.*?)</code>', page, re.DOTALL)
    return {name: html.unescape(text) for name, text in found}


@pytest.fixture
def job(tmp_path: Path) -> Path:
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\necho 'copied 12 files'\necho 'disk almost full' >&2\nexit 3\n")
    script.chmod(0o755)
    return script


def shell(command: str) -> None:
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(["bash", "-c", command], check=True, timeout=60, env=environment)


def runs(monitor: Monitor) -> list[Run]:
    return list(monitor.runs.order_by("id"))


def test_the_page_offers_each_snippet(snippets: dict[str, str], monitor: Monitor) -> None:
    assert set(snippets) == {"success", "start", "exit-status", "vigil-run", "python"}
    assert all(monitor.ping_url in text for text in snippets.values())


def test_start_then_success_with_curl(snippets: dict[str, str], monitor: Monitor) -> None:
    shell(snippets["start"])
    shell(snippets["success"])
    [run] = runs(monitor)
    assert run.status == "success"
    assert run.duration_ms is not None


def test_the_exit_status_and_the_output_with_curl(
    snippets: dict[str, str], monitor: Monitor, job: Path
) -> None:
    shell(snippets["exit-status"].replace(JOB, str(job)))
    [run] = runs(monitor)
    assert run.status == "failed"
    assert run.exit_code == 3
    assert "copied 12 files" in run.log
    assert "disk almost full" in run.log


def test_vigil_run(snippets: dict[str, str], monitor: Monitor, job: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError) as exited:
        shell(snippets["vigil-run"].replace(JOB, str(job)))
    assert exited.value.returncode == 3  # the job's own status
    [run] = runs(monitor)
    assert run.status == "failed"
    assert run.exit_code == 3
    assert "disk almost full" in run.log


def test_the_python_decorator(snippets: dict[str, str], monitor: Monitor) -> None:
    program = snippets["python"].replace("    ...", "    print('working')") + "\n\njob()\n"
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)
    [run] = runs(monitor)
    assert run.status == "success"
    assert run.duration_ms is not None
