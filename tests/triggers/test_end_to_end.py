"""Run now end to end, against a live Vigil server with real processes.

(a) A URL trigger: Vigil's delivery worker POSTs the request to a loopback receiver, which
verifies the Standard Webhooks signature with the trigger's secret and starts the real
`vigil run --rid <rid>`; the run is then manual, with who asked, in the API, on the monitor
page and in `vigil history`. Retries and undeliverable requests keep their attempts.
(b) A real `vigil agent` process long-polls, picks the request up and runs its mapped command.
(c) A request nobody takes expires, and says so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client
from pytest_django.fixtures import Settings

from alerts.delivery.backoff import retry_delay
from monitors.models import Monitor
from pings.models import Run, RunStatus
from tests.alerts.loopback import HttpReceiver, Received, Reply
from tests.client.conftest import client_env
from tests.client.test_against_vigil import VIGIL, LiveVigil, live
from tests.conftest import make_client, results
from tests.factories import MonitorFactory, member
from triggers.delivery import run_request_deliver, run_requests_dispatch
from triggers.models import RunRequest, RunRequestStatus, TriggerKind
from triggers.services import TriggerSpec, run_request_create, run_requests_expire, trigger_set

__all__ = ["live"]  # the live-server fixture of the client's tests

pytestmark = pytest.mark.django_db(transaction=True)


def deliver_due() -> int:
    """What beat and a delivery worker do: hand out due requests and POST each one."""

    def deliver(request_id: int, attempts: int) -> None:
        run_request_deliver(request_id=request_id, attempt_count=attempts)

    return run_requests_dispatch(enqueue=deliver)


def verify(secret: str, received: Received) -> bool:
    """Standard Webhooks verification, written from the spec (not Vigil's own signing code)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.".encode()
    expected = base64.b64encode(hmac.new(key, signed + received.body, hashlib.sha256).digest()).decode()
    offered = [part.split(",", 1)[1] for part in received.headers["webhook-signature"].split() if "," in part]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


class JobReceiver(HttpReceiver):
    """The job host's side of a trigger URL: a request with a good signature starts the job
    through `vigil run` with the requested rid; a bad one is refused (401)."""

    def __init__(self, secret: str, ping_url: str, command: list[str]) -> None:
        super().__init__()
        self.secret = secret
        self.ping_url = ping_url
        self.command = command
        self.jobs: list[subprocess.Popen[bytes]] = []

    def record(self, received: Received) -> Reply:
        reply = super().record(received)
        if reply.status != 200:
            return reply
        if not verify(self.secret, received):
            return Reply(401, b"bad signature")
        rid = received.json()["rid"]
        self.jobs.append(
            subprocess.Popen(
                [str(VIGIL), "run", "--url", self.ping_url, "--rid", rid, "--", *self.command],
                env=client_env(VIGIL_TIMEOUT="10"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
        return Reply(202, b"started")

    def __enter__(self) -> JobReceiver:
        super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for job in self.jobs:
            if job.poll() is None:
                job.kill()
            job.communicate()
        super().__exit__(*exc)


def url_trigger(monitor: Monitor, url: str) -> str:
    secret = trigger_set(monitor=monitor, spec=TriggerSpec(kind=TriggerKind.URL, url=url))
    assert secret is not None
    return secret


@pytest.fixture
def private_urls(settings: Settings) -> None:
    # The receiver is on loopback, which trigger URLs (like webhooks) refuse by default.
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = True


def test_a_url_trigger_starts_vigil_run_with_the_rid_and_the_run_is_manual_everywhere(
    live: LiveVigil, private_urls: None
) -> None:
    mon = MonitorFactory.create(project=live.project, slug="nightly-report")
    user = member(live.project)
    with JobReceiver("", mon.ping_url, ["sh", "-c", "echo report built"]) as receiver:
        receiver.secret = url_trigger(mon, receiver.url)
        api = make_client(live.project)  # a key named "test"
        asked = api.post(f"/api/v1/monitors/{mon.id}/run/")
        assert asked.status_code == 201

        assert deliver_due() == 1
        assert receiver.wait_for(1)
        (job,) = receiver.jobs
        _, stderr = job.communicate(timeout=30)

    assert job.returncode == 0, stderr
    (delivered,) = receiver.requests
    payload = delivered.json()
    assert payload["rid"] == asked.json()["rid"]
    assert payload["requested_by"] == "test"
    assert payload["monitor"]["slug"] == "nightly-report"
    assert payload["requested_at"].endswith("Z")
    request = RunRequest.objects.get()
    assert request.status == RunRequestStatus.FINISHED
    assert request.sent_at is not None
    assert request.started_at is not None
    assert request.finished_at is not None
    assert [attempt.status_code for attempt in request.attempts.all()] == [202]
    run = Run.objects.get(monitor=mon)
    assert str(run.rid) == payload["rid"]
    assert run.status == RunStatus.SUCCESS
    assert "report built" in run.log
    assert (run.manual, run.requested_by) == (True, "test")
    assert request.run_id == run.id
    # The API.
    (api_run,) = results(api.get(f"/api/v1/monitors/{mon.id}/runs/"))
    assert (api_run["manual"], api_run["requested_by"]) == (True, "test")
    (api_request,) = results(api.get(f"/api/v1/monitors/{mon.id}/run-requests/"))
    assert (api_request["status"], api_request["run"]) == ("finished", run.id)
    assert api_request["attempts"][0]["status_code"] == 202
    # The monitor page.
    browser = Client()
    browser.force_login(user)
    page = browser.get(f"/monitors/{mon.id}/").content.decode()
    assert f'id="run-{run.id}"' in page
    assert "manual" in page
    assert "by test" in page
    assert "request-finished" in page
    # `vigil history`.
    history = live("history", "nightly-report")
    assert history.returncode == 0, history.stderr
    header, row = history.stdout.decode().splitlines()[:2]
    assert "REQUESTED BY" in header
    assert row.rstrip().endswith("test")


def test_a_refused_signature_starts_nothing_and_failed_deliveries_are_retried_then_undeliverable(
    live: LiveVigil, private_urls: None, settings: Settings
) -> None:
    mon = MonitorFactory.create(project=live.project)
    with JobReceiver("whsec_" + base64.b64encode(b"x" * 32).decode(), mon.ping_url, ["true"]) as receiver:
        url_trigger(mon, receiver.url)  # another secret than the receiver knows
        receiver.script(Reply(503, b"busy"))
        request = run_request_create(monitor=mon, requested_by="ada@example.com")

        assert deliver_due() == 1
        request.refresh_from_db()
        # 503: retried later, the attempt kept.
        assert request.status == RunRequestStatus.PENDING
        assert request.next_attempt_at is not None
        assert request.next_attempt_at >= request.requested_at + retry_delay(1)
        with time_machine.travel(request.next_attempt_at + timedelta(seconds=1)):
            assert deliver_due() == 1
        request.refresh_from_db()

    # The second POST reached the receiver, whose signature check refused it: final.
    assert len(receiver.requests) == 2
    assert receiver.jobs == []
    assert request.status == RunRequestStatus.UNDELIVERABLE
    assert "401" in request.reason
    assert [(a.status_code, a.error[:8]) for a in request.attempts.all()] == [
        (503, "HTTP 503"),
        (401, "HTTP 401"),
    ]
    assert not Run.objects.filter(monitor=mon).exists()


def test_a_vigil_agent_process_picks_up_a_request_and_runs_its_mapped_command(
    live: LiveVigil, tmp_path: Path
) -> None:
    backup = MonitorFactory.create(project=live.project, slug="backup")
    unmapped = MonitorFactory.create(project=live.project, slug="not-here")
    for each in (backup, unmapped):
        trigger_set(monitor=each, spec=TriggerSpec(kind=TriggerKind.AGENT))
    marker = tmp_path / "ran"
    config = tmp_path / "monitors.toml"
    config.write_text(
        '[[monitor]]\nslug = "backup"\nschedule = "0 3 * * *"\n'
        f'command = "echo backed up; echo $VIGIL_RID > {marker}"\n'
        '[[monitor]]\nslug = "not-here"\n'
    )
    agent = subprocess.Popen(
        [str(VIGIL), "agent", "--config", str(config), "--wait", "1", "--once"],
        env=live.env(VIGIL_PING_KEY=""),  # the agent reads the ping key from the API
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        ignored = run_request_create(monitor=unmapped, requested_by="ada@example.com")
        request = run_request_create(monitor=backup, requested_by="ada@example.com")
        stdout, stderr = agent.communicate(timeout=60)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.communicate()

    assert agent.returncode == 0, stderr
    assert b"backed up" in stdout
    assert marker.read_text().strip() == str(request.rid)
    request.refresh_from_db()
    assert request.status == RunRequestStatus.FINISHED
    run = Run.objects.get(monitor=backup)
    assert (run.rid, run.manual, run.requested_by) == (request.rid, True, "ada@example.com")
    assert run.status == RunStatus.SUCCESS
    assert "backed up" in run.log
    # A monitor the file maps to no command is never claimed by this agent.
    ignored.refresh_from_db()
    assert ignored.status == RunRequestStatus.PENDING


def test_vigil_trigger_asks_for_a_run_and_says_why_not_without_a_trigger(live: LiveVigil) -> None:
    mon = MonitorFactory.create(project=live.project, slug="etl")

    refused = live("trigger", "etl")

    assert refused.returncode == 1
    assert b"no trigger" in refused.stderr
    trigger_set(monitor=mon, spec=TriggerSpec(kind=TriggerKind.AGENT))
    asked = live("trigger", "etl")
    assert asked.returncode == 0, asked.stderr
    request = RunRequest.objects.get(monitor=mon)
    assert str(request.rid) in asked.stdout.decode()
    assert request.requested_by == "cli"  # the key's name
    assert request.status == RunRequestStatus.PENDING


def test_a_request_nobody_takes_expires_and_says_so(project_with_member: tuple[Monitor, Client]) -> None:
    mon, browser = project_with_member
    trigger_set(monitor=mon, spec=TriggerSpec(kind=TriggerKind.AGENT))
    request = run_request_create(monitor=mon, requested_by="ada@example.com")
    expiry = timedelta(seconds=django_settings.RUN_NOW_EXPIRY_SECONDS)

    assert run_requests_expire(now=request.requested_at + expiry - timedelta(seconds=1)) == 0
    assert run_requests_expire(now=request.requested_at + expiry) == 1

    request.refresh_from_db()
    assert request.status == RunRequestStatus.EXPIRED
    assert request.reason == f"no start within {django_settings.RUN_NOW_EXPIRY_SECONDS} s"
    api = make_client(mon.project)
    (listed,) = results(api.get(f"/api/v1/monitors/{mon.id}/run-requests/"))
    assert (listed["status"], listed["reason"]) == ("expired", request.reason)
    # No agent can take it any more, and the page says so.
    assert api.get("/api/v1/agent/claim/", {"wait": 0}).status_code == 204
    page = browser.get(f"/monitors/{mon.id}/").content.decode()
    assert "request-expired" in page
    assert request.reason in page
    # Beat runs the expiry.
    assert any(
        entry["task"] == "triggers.tasks.expire_run_requests"
        for entry in django_settings.CELERY_BEAT_SCHEDULE.values()
    )


def test_a_started_request_does_not_expire_and_a_late_start_still_counts(
    project_with_member: tuple[Monitor, Client], settings: Settings
) -> None:
    settings.RUN_NOW_EXPIRY_SECONDS = 1
    mon, _ = project_with_member
    trigger_set(monitor=mon, spec=TriggerSpec(kind=TriggerKind.AGENT))
    started = run_request_create(monitor=mon, requested_by="ada@example.com")
    late = run_request_create(monitor=mon, requested_by="ada@example.com")
    pinger = Client()
    assert pinger.get(f"/ping/{mon.ping_uuid}/start?rid={started.rid}").status_code == 200

    assert run_requests_expire(now=late.requested_at + timedelta(seconds=2)) == 1
    assert pinger.get(f"/ping/{mon.ping_uuid}/start?rid={late.rid}").status_code == 200

    started.refresh_from_db()
    late.refresh_from_db()
    assert started.status == RunRequestStatus.STARTED
    # It did start after all: the record says so rather than keep "expired".
    assert late.status == RunRequestStatus.STARTED
    assert Run.objects.filter(monitor=mon, manual=True).count() == 2


def test_a_rid_sent_to_another_monitor_marks_nothing(project_with_member: tuple[Monitor, Client]) -> None:
    mon, _ = project_with_member
    other = MonitorFactory.create(project=mon.project)
    trigger_set(monitor=mon, spec=TriggerSpec(kind=TriggerKind.AGENT))
    request = run_request_create(monitor=mon, requested_by="ada@example.com")

    assert Client().get(f"/ping/{other.ping_uuid}?rid={request.rid}").status_code == 200

    request.refresh_from_db()
    assert request.status == RunRequestStatus.PENDING
    assert Run.objects.get(monitor=other).manual is False
    assert Client().get(f"/ping/{mon.ping_uuid}?rid={uuid.uuid4()}").status_code == 200
    assert Run.objects.get(monitor=mon).requested_by is None


@pytest.fixture
def project_with_member(db: None) -> tuple[Monitor, Client]:
    mon = MonitorFactory.create()
    browser = Client()
    browser.force_login(member(mon.project))
    return mon, browser
