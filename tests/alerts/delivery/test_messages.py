"""What people read: Slack and e-mail messages for every problem kind and for recovery."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from alerts.channels import channel_create
from alerts.models import Notification
from monitors.models import Monitor, Project
from tests.alerts.delivery.outbox_rows import (
    also_to,
    deliver_due,
    email_channel,
    finished_run,
    problem,
    recovered,
    slack_channel,
)
from tests.alerts.loopback import HttpReceiver, SmtpSink, text_and_html
from tests.factories import MonitorFactory, ProjectFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]

LOG = "\n".join(f"step {n} done" for n in range(1, 41)) + "\nERROR: disk full\n"


@dataclass(frozen=True)
class Case:
    kind: str
    detail: str
    subject: str
    run: dict[str, Any] | None
    shows: list[str] = field(default_factory=list)


CASES = [
    Case("missed", "missed its 03:00 run", "[DOWN] Nightly backup: missed", None),
    Case(
        "failed",
        "failed with exit code 3",
        "[DOWN] Nightly backup: failed",
        {"meta": {"records_processed": 12, "host": "db1"}, "log": LOG},
        [
            "Duration",
            "3 min 12 s",
            "Exit code",
            "records_processed",
            "db1",
            "ERROR: disk full",
            "step 40 done",
        ],
    ),
    Case(
        "too_long",
        "running for 47 min, limit 30 min",
        "[DOWN] Nightly backup: running too long",
        {"status": "running", "finished_at": None, "duration_ms": None, "exit_code": None, "log": "copying…"},
        ["copying…"],
    ),
    Case(
        "overlap",
        "overlap: a second run started",
        "[DOWN] Nightly backup: overlapping runs",
        {"status": "running", "finished_at": None, "duration_ms": None, "exit_code": None},
    ),
    Case(
        "rule",
        "records_processed = 0 (rule: eq 0)",
        "[DOWN] Nightly backup: alert rule matched",
        {"status": "success", "exit_code": 0, "duration_ms": 5_000, "meta": {"records_processed": 0}},
        ["5 s", "records_processed"],
    ),
    Case(
        "slow",
        "took 41 min, usually about 12 min",
        "[DOWN] Nightly backup: slow run",
        {"status": "success", "exit_code": 0, "duration_ms": 41 * 60_000},
        ["41 min"],
    ),
]


@pytest.fixture
def acme() -> Project:
    return ProjectFactory.create(name="Acme")


@pytest.fixture
def backup(acme: Project) -> Monitor:
    return MonitorFactory.create(project=acme, name="Nightly backup", slug="nightly-backup")


def problem_for(case: Case, channel: Any, monitor: Monitor) -> Notification:
    run = finished_run(monitor, **case.run) if case.run is not None else None
    return problem(channel, monitor=monitor, kind=case.kind, detail=case.detail, run=run)


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_slack_problem_message(case: Case, receiver: HttpReceiver, acme: Project, backup: Monitor) -> None:
    problem_for(case, slack_channel(acme, receiver.url), backup)
    deliver_due()

    body = receiver.requests[0].json()
    assert body["text"] == f"Nightly backup (Acme): {case.detail}"
    assert body["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": case.subject}}
    everything = json.dumps(body["blocks"], ensure_ascii=False)
    for fragment in ["Acme", "Nightly backup", case.detail, "When", f"/monitors/{backup.id}/", *case.shows]:
        assert fragment in everything
    if case.run and case.run.get("log") == LOG:
        assert "step 25 done" not in everything, "only the last lines of the log"


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_email_problem_message(case: Case, smtp_sink: SmtpSink, acme: Project, backup: Monitor) -> None:
    problem_for(case, email_channel(acme, "ops@example.com", "dev@example.com"), backup)
    deliver_due()

    (message,) = smtp_sink.messages
    assert message["Subject"] == case.subject
    assert message["To"] == "ops@example.com, dev@example.com"
    text, html = text_and_html(message)
    for part in (text, html):
        for fragment in ["Acme", "Nightly backup", case.detail, f"/monitors/{backup.id}/", *case.shows]:
            assert fragment in part


def test_recovery_says_how_long_it_was_down(
    receiver: HttpReceiver, smtp_sink: SmtpSink, acme: Project, backup: Monitor
) -> None:
    slack, mail = slack_channel(acme, receiver.url), email_channel(acme)
    opened = timezone.now()
    first = problem(slack, monitor=backup, kind="missed", detail="missed its 03:00 run", at=opened)
    later = opened + timedelta(hours=2, minutes=14)
    recovered(slack, first.incident, at=later)
    recovered(mail, first.incident, at=later)
    with time_machine.travel(later, tick=False):
        while deliver_due():
            pass

    slack_body = receiver.requests[-1].json()
    assert slack_body["text"] == "Nightly backup (Acme) is back up after 2 h 14 min down"
    assert slack_body["blocks"][0]["text"]["text"] == "[UP] Nightly backup: recovered"
    (message,) = smtp_sink.messages
    assert message["Subject"] == "[UP] Nightly backup: recovered"
    text, html = text_and_html(message)
    assert "Down for: 2 h 14 min" in text
    assert "2 h 14 min" in html


def test_log_and_names_are_escaped(
    receiver: HttpReceiver, smtp_sink: SmtpSink, acme: Project, backup: Monitor
) -> None:
    backup.name = "Backup <b>"
    backup.save()
    run = finished_run(backup, log="<script>alert(1)</script> & <!channel>\n", meta={"note": "<i>x</i>"})
    also_to(email_channel(acme), problem(slack_channel(acme, receiver.url), monitor=backup, run=run))
    while deliver_due():
        pass

    slack_text = json.dumps(receiver.requests[0].json()["blocks"])
    assert "&lt;!channel&gt;" in slack_text
    assert "<!channel>" not in slack_text
    _, html = text_and_html(smtp_sink.messages[0])
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt;" in html
    assert "<script>" not in html
    assert "Backup &lt;b&gt;" in html
    assert "&lt;i&gt;x&lt;/i&gt;" in html


def test_a_repeat_of_notify_every_failures_says_how_many_in_a_row(
    client: Any, receiver: HttpReceiver, smtp_sink: SmtpSink, acme: Project
) -> None:
    """Real pings: the third failure in a row repeats the problem, by mail and by webhook."""
    monitor = MonitorFactory.create(project=acme, name="Nightly backup", notify_every_failures=3)
    mail = email_channel(acme)
    hook = channel_create(project=acme, kind="webhook", name="hook", config={"url": receiver.url})
    monitor.channels.set([mail, hook])
    for _ in range(3):
        assert client.post(f"/ping/{monitor.ping_uuid}/2").status_code == 200
    while deliver_due():
        pass

    subjects = [message["Subject"] for message in smtp_sink.messages]
    assert subjects == [
        "[DOWN] Nightly backup: failed",
        "[STILL DOWN] Nightly backup: failed (failure 3 in a row)",
    ]
    text, _ = text_and_html(smtp_sink.messages[1])
    assert "Failures in a row: 3" in text
    events = [request.json() for request in receiver.requests]
    assert [(event["event"], event["repeat"]) for event in events] == [
        ("problem", None),
        ("problem", {"number": 1, "failures_in_a_row": 3}),
    ]
    assert events[1]["incident"]["id"] == events[0]["incident"]["id"]
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == 2
