"""A project that shows everything the dashboard can (each status, long names, tags and runs
of every outcome), and a monitor that shows everything its page can (two months of runs with
logs and metadata, an open incident with deliveries that failed and retried). View tests,
browser tests and screenshots use them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from alerts.models import Channel, Incident
from monitors.models import Monitor, MonitorStatus, Project, ScheduleKind
from tests.api.builders import make_attempt, make_channel, make_incident, make_notification, make_run
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


FAILED_LOG = "\n".join(
    [
        "pg_dump: dumping contents of table public.orders",
        "pg_dump: dumping contents of table public.order_lines",
        "pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout "
        "while dumping the contents of table public.order_lines_archive_with_a_very_long_name_indeed",
        "upload: s3://backups/orders/2026-03-01.sql.gz: 0 bytes written",
        "backup failed after 1 attempt(s)",
    ]
)
SHOWCASE_DAYS = 60


def showcase_monitor(project: Project, *, channels: bool = True) -> Monitor:
    """A down cron monitor: a run a day for two months (durations drifting, some failures, an
    overlap, one too long, a manual run), the last one failed with a log and metadata, an open
    incident whose deliveries failed and retried, and an older resolved incident."""
    now = timezone.now()
    monitor = MonitorFactory.create(
        project=project,
        name="Nightly database backup",
        slug="db-backup",
        tags=["prod", "db"],
        schedule_kind=ScheduleKind.CRON,
        cron_expression="0 3 * * *",
        timezone="Europe/Berlin",
        grace_seconds=1800,
        max_duration_seconds=600,
        description="Dumps the orders database to S3. When it fails, the morning reports are stale: "
        "rerun it before 07:00.",
        runbook_url="https://wiki.example.com/runbooks/db-backup",
    )
    for day in range(SHOWCASE_DAYS):
        started = (now - timedelta(days=SHOWCASE_DAYS - day)).replace(hour=2, minute=0, second=4)
        failed = day in {11, 12, 33} or day == SHOWCASE_DAYS - 1
        too_long = day == 41
        seconds = 600 if too_long else 40 + day // 3 + (day * 7) % 11 + (25 if failed else 0)
        make_run(
            monitor,
            status="failed" if failed or too_long else "success",
            started_at=started,
            finished_at=started + timedelta(seconds=seconds),
            duration_ms=seconds * 1000 + day * 37,
            exit_code=1 if failed else None if too_long else 0,
            overlap=day == 27,
            closed_reason="too_long" if too_long else "",
            manual=day == 50,
            meta={"rows": 118_000 + day * 211, "dry_run": False, "target": "s3://backups/orders"},
            log=FAILED_LOG if failed else f"dumped {118_000 + day * 211} rows\nupload complete",
            log_truncated=day == SHOWCASE_DAYS - 1,
        )
    last = monitor.runs.order_by("-id").first()
    assert last is not None
    assert last.finished_at is not None
    if channels:
        hook = make_channel(project, name="Ops webhook", config={"url": "https://hooks.example.com/vigil"})
        mail = make_channel(
            project, kind="email", name="On-call e-mail", config={"to": ["oncall@example.com"]}
        )
        _incidents(monitor, last.finished_at, hook, mail)
    Monitor.objects.filter(id=monitor.id).update(
        status=MonitorStatus.DOWN,
        last_ping_at=last.finished_at,
        last_finish_at=last.finished_at,
        last_duration_ms=last.duration_ms,
    )
    monitor.refresh_from_db()
    return monitor


def _incidents(monitor: Monitor, at: datetime, hook: Channel, mail: Channel) -> Incident:
    monitor.channels.set([hook, mail])
    older = make_incident(
        monitor,
        kind="failed",
        kinds=["failed", "too_long"],
        detail="exit status 1",
        opened_at=at - timedelta(days=48),
        resolved_at=at - timedelta(days=46),
        resolved_reason="1 good run in a row",
        log=[{"at": (at - timedelta(days=48)).isoformat(), "message": "opened: exit status 1"}],
    )
    delivered = make_notification(older, hook, status="delivered")
    make_attempt(delivered, status_code=200, latency_ms=84)
    incident = make_incident(
        monitor,
        kind="failed",
        detail="exit status 1: backup failed after 1 attempt(s)",
        opened_at=at,
        log=[
            {"at": at.isoformat(), "message": "opened: exit status 1"},
            {"at": (at + timedelta(minutes=2)).isoformat(), "message": "also: run did not finish in time"},
        ],
    )
    retried = make_notification(incident, hook, status="delivered", attempt_count=2)
    make_attempt(retried, after_seconds=1, status_code=503, error="HTTP 503 from receiver", latency_ms=212)
    make_attempt(retried, after_seconds=31, status_code=200, latency_ms=95)
    failing = make_notification(incident, mail, status="retrying", attempt_count=1)
    make_attempt(
        failing, after_seconds=2, error="SMTP: Connection refused (mail.example.com:587)", latency_ms=3
    )
    return incident
