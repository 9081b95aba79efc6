"""Three sweeper processes at once over 500 monitors: they split the work, one incident and row each."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from alerts.models import Channel, Incident, Notification
from monitors.models import Monitor
from tests.factories import ProjectFactory

REPO = Path(__file__).resolve().parents[2]
MONITORS = 500
SWEEPERS = 3
# Each process waits for the same instant, then sweeps until a pass finds nothing due.
SWEEPER_SCRIPT = """
import sys, time
import django
django.setup()
from alerts.sweeper import sweep
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
total = 0
while (processed := sweep()):
    total += processed
print(f"processed {total}")
"""


def database_url() -> str:
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_three_sweepers_split_the_due_monitors_and_write_each_transition_once() -> None:
    project = ProjectFactory.create()
    channels = [
        Channel.objects.create(
            project=project, kind="webhook", name=f"hook {n}", config={"url": "http://h.invalid"}
        )
        for n in range(2)
    ]
    past = timezone.now() - timedelta(minutes=10)
    Monitor.objects.bulk_create(
        Monitor(
            project=project,
            name=f"job {n}",
            slug=f"job-{n}",
            interval_seconds=60,
            grace_seconds=0,
            created_at=past,
            window_start=past,
            next_due_at=past + timedelta(seconds=60),
            deadline=past + timedelta(seconds=60),
        )
        for n in range(MONITORS)
    )
    for channel in channels:
        channel.monitors.set(Monitor.objects.filter(project=project))

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "monitorsite.settings",
        "SWEEPER_OUTAGE_SECONDS": "1000000000",
    }
    begin = time.time() + 6  # after every process has imported Django
    sweepers = [
        subprocess.Popen(
            [sys.executable, "-c", SWEEPER_SCRIPT, str(begin)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(SWEEPERS)
    ]
    outputs = [sweeper.communicate(timeout=120)[0] for sweeper in sweepers]
    assert all(sweeper.returncode == 0 for sweeper in sweepers), outputs

    processed = [int(output.split()[-1]) for output in outputs]
    # SKIP LOCKED: each monitor claimed by exactly one of them, and every one of them got some.
    assert sum(processed) == MONITORS, processed
    assert all(count > 0 for count in processed), processed
    assert Incident.objects.count() == MONITORS
    assert Incident.objects.values("monitor").distinct().count() == MONITORS
    assert Notification.objects.count() == MONITORS * len(channels)
    assert Notification.objects.filter(event="problem").values("incident", "channel").distinct().count() == (
        MONITORS * len(channels)
    )
    assert not Monitor.objects.exclude(status="down").exists()
