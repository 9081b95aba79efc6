"""A project that shows everything the dashboard can: each status, long names, tags and runs
of every outcome. Dashboard view tests, browser tests and screenshots use it."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from monitors.models import Monitor, MonitorStatus, Project, ScheduleKind
from tests.api.builders import make_run
from tests.factories import MonitorFactory

# (name, slug, status, tags, schedule, runs oldest first as (status, overlap, closed_reason))
OK = ("success", False, "")
FAILED = ("failed", False, "")
OVERLAP = ("success", True, "")
TOO_LONG = ("failed", False, "too_long")
RUNNING = ("running", False, "")

SHOWCASE = [
    (
        "Nightly database backup",
        "db-backup",
        MonitorStatus.UP,
        ["prod", "db"],
        ("cron", "0 3 * * *"),
        [OK] * 28 + [FAILED, OK],
    ),
    (
        "Send invoices to every customer whose subscription renews in the next seven days (EU region)",
        "invoices-eu-renewals-weekly-batch-with-a-very-long-slug",
        MonitorStatus.LATE,
        ["billing"],
        ("interval", 3600),
        [OK, OK, FAILED, OK, OK, OK],
    ),
    (
        "Sync warehouse stock",
        "stock-sync",
        MonitorStatus.DOWN,
        ["prod", "warehouse"],
        ("interval", 300),
        [OK] * 20 + [FAILED, FAILED, TOO_LONG, FAILED, OVERLAP, FAILED, FAILED, FAILED, FAILED, FAILED],
    ),
    (
        "Rebuild search index",
        "search-index",
        MonitorStatus.RUNNING,
        ["search"],
        ("cron", "*/15 * * * *"),
        [OK, OK, OVERLAP, OK, OK, RUNNING],
    ),
    (
        "Quarterly report",
        "quarterly-report",
        MonitorStatus.PAUSED,
        [],
        ("cron", "0 6 1 1,4,7,10 *"),
        [OK, OK, OK],
    ),
    ("Certificate renewal", "cert-renewal", MonitorStatus.NEW, ["prod"], ("interval", 86400), []),
]


def showcase_project(project: Project) -> list[Monitor]:
    """Fill `project` with the showcase monitors (statuses set as the engine would leave them)."""
    now = timezone.now()
    monitors = []
    for name, slug, status, tags, (kind, value), runs in SHOWCASE:
        schedule = (
            {"schedule_kind": ScheduleKind.CRON, "cron_expression": value, "timezone": "Europe/Berlin"}
            if kind == "cron"
            else {"interval_seconds": value}
        )
        monitor = MonitorFactory.create(
            project=project,
            name=name,
            slug=slug,
            tags=tags,
            paused=status == MonitorStatus.PAUSED,
            **schedule,
        )
        for index, (run_status, overlap, closed_reason) in enumerate(runs):
            started = now - timedelta(minutes=15 * (len(runs) - index))
            finished = None if run_status == "running" else started + timedelta(seconds=40 + index)
            make_run(
                monitor,
                status=run_status,
                overlap=overlap,
                closed_reason=closed_reason,
                started_at=started,
                finished_at=finished,
                duration_ms=None if finished is None else (40 + index) * 1000,
                exit_code=None if run_status == "running" else (0 if run_status == "success" else 1),
            )
        last = runs and runs[-1][0] != "running"
        Monitor.objects.filter(id=monitor.id).update(
            status=status,
            last_ping_at=now - timedelta(minutes=3) if runs else None,
            last_duration_ms=52_300 if last else None,
            next_due_at=now - timedelta(minutes=4) if status == MonitorStatus.LATE else monitor.next_due_at,
        )
        monitor.refresh_from_db()
        monitors.append(monitor)
    return monitors
