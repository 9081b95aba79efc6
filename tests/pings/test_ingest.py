"""The ping endpoint, rule by rule (CONTRACT §2). Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from alerts.models import Channel
from monitors.models import Monitor, MonitorStatus, Project
from pings.models import Ping, Run, RunStatus
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db

RID = "6f1e3c1a-8a44-4c39-9b55-1f1f5c9b7a10"
OTHER_RID = "0b7f1f7e-5a8e-4f4a-9c0c-2d2a3c4b5d6e"


def url(monitor: Monitor, suffix: str = "", query: str = "") -> str:
    path = f"/ping/{monitor.ping_uuid}{suffix}"
    return f"{path}?{query}" if query else path


def slug_url(monitor: Monitor, suffix: str = "", query: str = "") -> str:
    path = f"/ping/{monitor.project.ping_key}/{monitor.slug}{suffix}"
    return f"{path}?{query}" if query else path


def runs(monitor: Monitor) -> list[Run]:
    return list(Run.objects.filter(monitor=monitor).order_by("id"))


# --- URL forms and methods ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "head", "post", "put"])
@pytest.mark.parametrize("form", ["uuid", "slug"])
def test_every_method_and_url_form_records_a_success(
    client: Client, monitor: Monitor, method: str, form: str
) -> None:
    target = url(monitor) if form == "uuid" else slug_url(monitor)
    response = getattr(client, method)(target)
    assert response.status_code == 200
    assert response.content == (b"" if method == "head" else b"OK")
    assert response["Cache-Control"] == "no-cache, no-store, must-revalidate, private, max-age=0"
    assert response["Access-Control-Allow-Origin"] == "*"
    [run] = runs(monitor)
    assert run.status == RunStatus.SUCCESS
    assert Ping.objects.get(monitor=monitor).method == method.upper()


@pytest.mark.parametrize("form", ["uuid", "slug"])
@pytest.mark.parametrize(
    ("suffix", "kind"),
    [("/start", "start"), ("/fail", "fail"), ("/log", "log"), ("/0", "exit"), ("/7", "exit")],
)
def test_each_action_is_recorded_with_its_kind(
    client: Client, monitor: Monitor, form: str, suffix: str, kind: str
) -> None:
    target = url(monitor, suffix) if form == "uuid" else slug_url(monitor, suffix)
    assert client.post(target).status_code == 200
    assert Ping.objects.get(monitor=monitor).kind == kind


def test_trailing_slash_is_accepted(client: Client, monitor: Monitor) -> None:
    assert client.get(url(monitor, "/")).status_code == 200
    assert client.get(url(monitor, "/start/")).status_code == 200


def test_delete_is_not_allowed(client: Client, monitor: Monitor) -> None:
    response = client.delete(url(monitor))
    assert response.status_code == 405
    assert Ping.objects.count() == 0


def test_cors_preflight_allows_any_origin(client: Client, monitor: Monitor) -> None:
    response = client.options(url(monitor), HTTP_ORIGIN="https://example.com")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert Ping.objects.count() == 0


def test_ping_records_remote_address_user_agent_and_size(client: Client, monitor: Monitor) -> None:
    client.post(url(monitor), data=b"hello", content_type="text/plain", HTTP_USER_AGENT="curl/8.0")
    ping = Ping.objects.get()
    assert (ping.remote_addr, ping.user_agent, ping.body_size) == ("127.0.0.1", "curl/8.0", 5)


# --- errors --------------------------------------------------------------------------------


def test_unknown_uuid_is_404(client: Client, db: None) -> None:
    response = client.get(f"/ping/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.content == b"not found"


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", "6f1e3c1a-8a44-4c39-9b55"])
def test_malformed_uuid_is_400_with_a_reason(client: Client, db: None, bad: str) -> None:
    response = client.get(f"/ping/{bad}")
    assert response.status_code == 400
    assert b"uuid" in response.content


def test_exit_status_0_is_success_and_1_and_255_are_failures(client: Client, monitor: Monitor) -> None:
    for code in (0, 1, 255):
        assert client.get(url(monitor, f"/{code}")).status_code == 200
    assert [(r.status, r.exit_code) for r in runs(monitor)] == [
        (RunStatus.SUCCESS, 0),
        (RunStatus.FAILED, 1),
        (RunStatus.FAILED, 255),
    ]


@pytest.mark.parametrize("code", ["256", "1000", "-1"])
def test_exit_status_over_255_is_rejected(client: Client, monitor: Monitor, code: str) -> None:
    response = client.get(url(monitor, f"/{code}"))
    assert response.status_code == 400
    assert b"exit status" in response.content
    assert not runs(monitor)


def test_unknown_action_is_400(client: Client, monitor: Monitor) -> None:
    response = client.get(url(monitor, "/finish"))
    assert response.status_code == 400
    assert b"unknown ping action" in response.content


def test_malformed_rid_is_400(client: Client, monitor: Monitor) -> None:
    response = client.get(url(monitor, "/start", "rid=abc"))
    assert response.status_code == 400
    assert b"rid" in response.content
    assert Ping.objects.count() == 0


# --- rid pairing ---------------------------------------------------------------------------


def test_start_then_finish_makes_one_run_with_a_duration(client: Client, monitor: Monitor) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get(url(monitor, "/start"))
    with time_machine.travel(start + timedelta(seconds=42), tick=False):
        client.get(url(monitor))
    [run] = runs(monitor)
    assert run.status == RunStatus.SUCCESS
    assert run.duration_ms == 42_000


def test_finish_with_rid_closes_that_rids_run(client: Client, monitor: Monitor) -> None:
    client.get(url(monitor, "/start", f"rid={RID}"))
    client.get(url(monitor, "/start", f"rid={OTHER_RID}"))
    client.get(url(monitor, "/1", f"rid={OTHER_RID}"))
    first, second = runs(monitor)
    assert (first.rid, first.status) == (uuid.UUID(RID), RunStatus.RUNNING)
    assert (second.rid, second.status, second.exit_code) == (uuid.UUID(OTHER_RID), RunStatus.FAILED, 1)


def test_finish_with_unknown_rid_is_a_run_of_its_own(client: Client, monitor: Monitor) -> None:
    client.get(url(monitor, "/start", f"rid={RID}"))
    client.get(url(monitor, "", f"rid={OTHER_RID}"))
    open_run, own_run = runs(monitor)
    assert open_run.status == RunStatus.RUNNING
    assert (own_run.rid, own_run.status, own_run.duration_ms, own_run.started_at) == (
        uuid.UUID(OTHER_RID),
        RunStatus.SUCCESS,
        None,
        None,
    )


def test_finish_without_rid_closes_the_oldest_open_run(client: Client, monitor: Monitor) -> None:
    client.get(url(monitor, "/start", f"rid={RID}"))
    client.get(url(monitor, "/start", f"rid={OTHER_RID}"))
    client.get(url(monitor, "/fail"))
    oldest, newer = runs(monitor)
    assert oldest.status == RunStatus.FAILED
    assert newer.status == RunStatus.RUNNING


def test_finish_without_rid_and_no_open_run_has_no_duration(client: Client, monitor: Monitor) -> None:
    client.get(url(monitor))
    [run] = runs(monitor)
    assert run.duration_ms is None
    assert run.started_at is None
    assert run.finished_at is not None


def test_a_retried_start_with_the_same_rid_opens_one_run(client: Client, monitor: Monitor) -> None:
    client.get(url(monitor, "/start", f"rid={RID}"))
    client.get(url(monitor, "/start", f"rid={RID}"))
    assert len(runs(monitor)) == 1
    assert Ping.objects.filter(monitor=monitor).count() == 2
    assert not runs(monitor)[0].overlap


def test_log_ping_changes_no_state(client: Client, monitor: Monitor) -> None:
    before = Monitor.objects.get(id=monitor.id)
    client.post(url(monitor, "/log"), data=b"halfway there", content_type="text/plain")
    after = Monitor.objects.get(id=monitor.id)
    assert not runs(monitor)
    assert (after.status, after.next_due_at, after.last_ping_at) == (before.status, before.next_due_at, None)
    assert Ping.objects.get().body == "halfway there"


def test_start_and_log_do_not_move_the_due_time(client: Client, monitor: Monitor) -> None:
    due = monitor.next_due_at
    client.get(url(monitor, "/start"))
    client.get(url(monitor, "/log"))
    monitor.refresh_from_db()
    assert monitor.next_due_at == due
    assert monitor.status == MonitorStatus.RUNNING


def test_finish_moves_the_due_time_from_the_finish(client: Client, monitor: Monitor) -> None:
    finish = timezone.now() + timedelta(minutes=5)
    with time_machine.travel(finish, tick=False):
        client.get(url(monitor))
    monitor.refresh_from_db()
    assert monitor.next_due_at == finish + timedelta(seconds=monitor.interval_seconds)
    assert monitor.status == MonitorStatus.UP
    assert monitor.last_ping_at == finish


# --- body ----------------------------------------------------------------------------------


def test_body_is_stored_as_the_runs_log(client: Client, monitor: Monitor) -> None:
    client.post(url(monitor), data="backup done ✓\n".encode(), content_type="text/plain")
    [run] = runs(monitor)
    assert run.log == "backup done ✓\n"
    assert not run.log_truncated


@override_settings(PING_BODY_LIMIT=10)
def test_body_over_the_limit_keeps_the_last_bytes_and_is_flagged(client: Client, monitor: Monitor) -> None:
    client.post(url(monitor), data=b"0123456789abcdef", content_type="text/plain")
    [run] = runs(monitor)
    assert (run.log, run.log_truncated) == ("6789abcdef", True)
    assert Ping.objects.get().body_size == 16


@override_settings(PING_BODY_LIMIT=7)
def test_cut_lands_on_a_character_boundary(client: Client, monitor: Monitor) -> None:
    client.post(url(monitor), data="aaaaaaaaaaé€€".encode(), content_type="text/plain")
    [run] = runs(monitor)
    assert run.log == "€€"  # the cut went through "é"; its leftover byte is dropped, not garbled


def test_nul_bytes_are_dropped(client: Client, monitor: Monitor) -> None:
    client.post(url(monitor), data=b"a\x00b\x00c", content_type="text/plain")
    assert runs(monitor)[0].log == "abc"


def test_invalid_utf8_is_kept_safely(client: Client, monitor: Monitor) -> None:
    client.post(url(monitor), data=b"ok \xff\xfe bytes", content_type="application/octet-stream")
    assert runs(monitor)[0].log == "ok \ufffd\ufffd bytes"


def test_binary_body_still_counts(client: Client, monitor: Monitor) -> None:
    body = bytes(range(256)) * 64
    assert client.post(url(monitor), data=body, content_type="application/octet-stream").status_code == 200
    [run] = runs(monitor)
    assert run.status == RunStatus.SUCCESS
    assert "\x00" not in run.log


def test_five_megabyte_body_counts_and_keeps_the_tail(client: Client, monitor: Monitor) -> None:
    body = b"x" * (5 * 1024 * 1024) + b"THE END"
    response = client.post(url(monitor, "/fail"), data=body, content_type="text/plain")
    assert response.status_code == 200
    [run] = runs(monitor)
    assert run.status == RunStatus.FAILED
    assert run.log_truncated
    assert run.log.endswith("THE END")
    assert len(run.log.encode()) == 100_000
    assert Ping.objects.get().body_size == len(body)


# --- metadata ------------------------------------------------------------------------------


def test_json_envelope_sets_meta_and_log(client: Client, monitor: Monitor) -> None:
    body = {"meta": {"records_processed": 42, "source": "s3", "dry_run": False, "ratio": 0.5}, "log": "done"}
    client.post(url(monitor), data=json.dumps(body), content_type="text/plain")
    [run] = runs(monitor)
    assert run.meta == body["meta"]
    assert run.log == "done"


def test_envelope_with_only_log(client: Client, monitor: Monitor) -> None:
    client.post(url(monitor), data=json.dumps({"log": "just text"}), content_type="application/json")
    [run] = runs(monitor)
    assert (run.meta, run.log) == ({}, "just text")


@override_settings(PING_BODY_LIMIT=4)
def test_body_cap_applies_to_the_envelopes_log(client: Client, monitor: Monitor) -> None:
    client.post(
        url(monitor), data=json.dumps({"meta": {"n": 1}, "log": "abcdefgh"}), content_type="application/json"
    )
    [run] = runs(monitor)
    assert (run.meta, run.log, run.log_truncated) == ({"n": 1}, "efgh", True)


@pytest.mark.parametrize(
    "body",
    [
        '{"meta": {"n": 1}, "other": 2}',
        '{"result": "ok"}',
        "[1, 2, 3]",
        '{"meta": {"n": 1',
        "{}",
    ],
)
def test_other_json_and_broken_json_are_log_text(client: Client, monitor: Monitor, body: str) -> None:
    assert client.post(url(monitor), data=body, content_type="application/json").status_code == 200
    [run] = runs(monitor)
    assert (run.meta, run.log) == ({}, body)


def test_envelope_with_a_nested_meta_value_is_rejected(client: Client, monitor: Monitor) -> None:
    response = client.post(url(monitor), data='{"meta": {"n": {"deep": 1}}}', content_type="application/json")
    assert response.status_code == 400
    assert b"meta" in response.content
    assert not runs(monitor)


def test_query_meta_values_are_typed(client: Client, monitor: Monitor) -> None:
    query = "meta.count=0&meta.ratio=1.5e3&meta.ok=true&meta.bad=false&meta.name=nightly"
    query += "&meta.code=007&meta.neg=-3"
    client.get(url(monitor, "", query))
    [run] = runs(monitor)
    assert run.meta == {
        "count": 0,
        "ratio": 1500.0,
        "ok": True,
        "bad": False,
        "name": "nightly",
        "code": "007",
        "neg": -3,
    }


def test_query_meta_merges_with_the_envelope(client: Client, monitor: Monitor) -> None:
    client.post(url(monitor, "", "meta.b=2"), data='{"meta": {"a": 1}}', content_type="application/json")
    assert runs(monitor)[0].meta == {"a": 1, "b": 2}


# --- slug URLs and create=1 ----------------------------------------------------------------


def test_unknown_slug_is_404_without_create(client: Client, project: Project) -> None:
    assert client.get(f"/ping/{project.ping_key}/nightly").status_code == 404
    assert not Monitor.objects.exists()


def test_unknown_ping_key_is_404_even_with_create(client: Client, db: None) -> None:
    assert client.get("/ping/nosuchkeyxxxxxxxxxxxxx/nightly?create=1").status_code == 404
    assert not Monitor.objects.exists()


def test_create_makes_the_monitor_with_defaults_and_all_channels(client: Client, project: Project) -> None:
    channel = Channel.objects.create(
        project=project, kind="email", name="ops", config={"to": ["a@example.com"]}
    )
    response = client.post(f"/ping/{project.ping_key}/nightly-backup/start?create=1")
    assert response.status_code == 200
    monitor = Monitor.objects.get(project=project, slug="nightly-backup")
    assert (monitor.schedule, monitor.grace_seconds) == ({"kind": "interval", "seconds": 86400}, 3600)
    assert list(monitor.channels.all()) == [channel]
    assert runs(monitor)[0].status == RunStatus.RUNNING
    assert client.post(f"/ping/{project.ping_key}/nightly-backup?create=1").status_code == 200
    assert Monitor.objects.filter(project=project).count() == 1


@pytest.mark.parametrize("slug", ["Nightly", "night%20ly", "caf%C3%A9", "a.b"])
def test_invalid_slug_is_400(client: Client, project: Project, slug: str) -> None:
    response = client.get(f"/ping/{project.ping_key}/{slug}?create=1")
    assert response.status_code == 400
    assert b"slug" in response.content
    assert not Monitor.objects.exists()


def test_slug_urls_are_scoped_to_their_project(client: Client, monitor: Monitor) -> None:
    other = MonitorFactory.create(slug=monitor.slug)
    client.get(slug_url(monitor, "/fail"))
    assert runs(monitor)[0].status == RunStatus.FAILED
    assert not runs(other)


def test_ping_keys_are_never_shaped_like_a_uuid(project: Project) -> None:
    with pytest.raises(ValueError, match="badly formed"):
        uuid.UUID(project.ping_key)


# --- paused monitors -----------------------------------------------------------------------


def test_paused_monitor_records_pings_and_stays_paused(client: Client, project: Project) -> None:
    monitor = MonitorFactory.create(project=project, paused=True)
    client.get(url(monitor, "/start"))
    client.get(url(monitor, "/fail"))
    monitor.refresh_from_db()
    assert monitor.status == MonitorStatus.PAUSED
    assert monitor.deadline is None
    assert [run.status for run in runs(monitor)] == [RunStatus.FAILED]
    assert Ping.objects.filter(monitor=monitor).count() == 2
