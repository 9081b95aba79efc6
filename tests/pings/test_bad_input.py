"""Input that once answered 500 (issue 13's probe): each is now a 400 with a reason that stores
nothing, or, for log text and headers, a ping stored without the characters no column can hold.

Runs on SQLite and on PostgreSQL: PostgreSQL is the one that refuses NUL and lone surrogates.
"""

from __future__ import annotations

import pytest
from django.test import Client

from monitors.models import Monitor, Project
from pings.models import Ping, Run

pytestmark = pytest.mark.django_db


def stored(monitor: Monitor) -> tuple[int, int]:
    return Run.objects.filter(monitor=monitor).count(), Ping.objects.filter(monitor=monitor).count()


def assert_refused(response: object, monitor: Monitor, reason: str) -> None:
    assert response.status_code == 400, response.content  # type: ignore[attr-defined]
    assert response["Content-Type"].startswith("text/plain")  # type: ignore[index]
    assert reason in response.content.decode()  # type: ignore[attr-defined]
    assert stored(monitor) == (0, 0)


@pytest.mark.parametrize("action", ["%C2%B2", "%D9%A3", "%EF%BC%91"])  # ², Arabic-Indic 3, fullwidth 1
def test_an_exit_status_in_non_ascii_digits_is_400(client: Client, monitor: Monitor, action: str) -> None:
    response = client.get(f"/ping/{monitor.ping_uuid}/{action}")
    assert_refused(response, monitor, "unknown ping action")


@pytest.mark.parametrize("action", ["256", "-1", "-0", "0000256", "9" * 5000])
def test_an_exit_status_out_of_range_is_400(client: Client, monitor: Monitor, action: str) -> None:
    response = client.get(f"/ping/{monitor.ping_uuid}/{action}")
    assert_refused(response, monitor, "exit status must be between 0 and 255")
    assert len(response.content) < 200  # the reason does not repeat 5,000 digits


def test_an_exit_status_with_leading_zeros_still_counts(client: Client, monitor: Monitor) -> None:
    assert client.get(f"/ping/{monitor.ping_uuid}/007").status_code == 200
    assert Run.objects.get(monitor=monitor).exit_code == 7


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        ('{"meta": {"x": 1e400}}', 'meta "x" must be a finite number'),
        ('{"meta": {"x": -1e400}, "log": "done"}', 'meta "x" must be a finite number'),
        ('{"meta": {"x": "a\\u0000b"}}', 'meta "x" must be text without NUL or lone surrogate'),
        ('{"meta": {"x": "\\ud800"}}', 'meta "x" must be text without NUL or lone surrogate'),
        ('{"meta": {"x": "ok \\udfff"}, "log": "x"}', 'meta "x" must be text without NUL or lone surrogate'),
        ('{"meta": {"a\\u0000b": 1}}', "invalid meta key"),
        ('{"meta": {"\\ud800": 1}}', "invalid meta key"),
        ('{"meta": {"x\\n": 1}}', "invalid meta key"),
    ],
)
def test_envelope_metadata_that_cannot_be_stored_is_400(
    client: Client, monitor: Monitor, envelope: str, reason: str
) -> None:
    response = client.post(f"/ping/{monitor.ping_uuid}", data=envelope, content_type="application/json")
    assert_refused(response, monitor, reason)


@pytest.mark.parametrize(
    ("log", "kept"),
    [
        ("a\\u0000b", "ab"),
        ("before \\ud800 after", "before \ufffd\ufffd\ufffd after"),
        ("\\udc00\\u0000", "\ufffd\ufffd\ufffd"),
    ],
)
def test_envelope_log_keeps_what_can_be_stored_and_the_ping_counts(
    client: Client, monitor: Monitor, log: str, kept: str
) -> None:
    body = '{"meta": {"n": 1}, "log": "' + log + '"}'
    response = client.post(f"/ping/{monitor.ping_uuid}", data=body, content_type="application/json")
    assert response.status_code == 200
    run = Run.objects.get(monitor=monitor)
    assert (run.meta, run.log) == ({"n": 1}, kept)


def test_a_raw_body_with_nul_bytes_and_broken_utf8_is_stored_without_them(
    client: Client, monitor: Monitor
) -> None:
    body = b"start\x00 \xed\xa0\x80 \xff end"
    response = client.post(f"/ping/{monitor.ping_uuid}/fail", data=body, content_type="text/plain")
    assert response.status_code == 200
    assert Run.objects.get(monitor=monitor).log == "start \ufffd\ufffd\ufffd \ufffd end"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("meta.x=%00", 'meta "x" must be text without NUL'),
        ("meta.x=a%00b", 'meta "x" must be text without NUL'),
        ("meta.x%0A=1", "invalid meta key 'x\\n'"),
        ("meta.%00=1", "invalid meta key"),
        ("meta.=1", "invalid meta key"),
    ],
)
def test_query_metadata_that_cannot_be_stored_is_400(
    client: Client, monitor: Monitor, query: str, reason: str
) -> None:
    assert_refused(client.get(f"/ping/{monitor.ping_uuid}?{query}"), monitor, reason)


def test_query_numbers_in_other_scripts_digits_stay_strings(client: Client, monitor: Monitor) -> None:
    response = client.get(f"/ping/{monitor.ping_uuid}?meta.n=1%D9%A3&meta.m=1e400")
    assert response.status_code == 200
    assert Run.objects.get(monitor=monitor).meta == {"n": "1٣", "m": "1e400"}


@pytest.mark.parametrize("path", ["/ping/%00/abc", "/ping/%00/abc/fail", "/ping/a%01b/abc"])
def test_a_ping_key_with_control_characters_is_400(client: Client, monitor: Monitor, path: str) -> None:
    assert_refused(client.get(path), monitor, "invalid ping key")


def test_a_real_ping_key_followed_by_a_nul_is_400(client: Client, monitor: Monitor) -> None:
    response = client.get(f"/ping/{monitor.project.ping_key}%00/{monitor.slug}?create=1")
    assert_refused(response, monitor, "invalid ping key")
    assert Monitor.objects.count() == 1


@pytest.mark.parametrize("slug", ["abc%0A", "abc%00", "%0Aabc", "abc%0D%0A"])
def test_a_slug_with_a_newline_or_nul_creates_nothing(client: Client, project: Project, slug: str) -> None:
    response = client.get(f"/ping/{project.ping_key}/{slug}?create=1")
    assert response.status_code == 400
    assert "invalid slug" in response.content.decode()
    assert not Monitor.objects.exists()


def test_headers_with_control_characters_are_stored_without_them(client: Client, monitor: Monitor) -> None:
    response = client.get(
        f"/ping/{monitor.ping_uuid}", HTTP_USER_AGENT="curl\x00/8\x1b.0", HTTP_X_FORWARDED_FOR="1.2.3.4\x00"
    )
    assert response.status_code == 200
    ping = Ping.objects.get(monitor=monitor)
    # X-Forwarded-For is not believed without TRUSTED_PROXIES: the peer's address is stored.
    assert (ping.user_agent, ping.remote_addr) == ("curl/8.0", "127.0.0.1")


@pytest.mark.parametrize("path", ["/status/%00/", "/status/a%00b/", "/badge/%00.svg", "/badge/x/%00.svg"])
def test_status_and_badge_keys_with_a_nul_are_unknown(client: Client, monitor: Monitor, path: str) -> None:
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/status/{status_key}/?tag=%00", "/badge/{badge_key}.svg?tag=%00"])
def test_a_tag_with_a_nul_matches_no_monitor(client: Client, monitor: Monitor, path: str) -> None:
    project = monitor.project
    response = client.get(path.format(status_key=project.status_key, badge_key=project.badge_key))
    assert response.status_code == 200
    if path.startswith("/status/"):
        assert response.json()["monitors"] == []


@pytest.mark.parametrize("charset", ["utf-16", "latin-1", "cp500"])
def test_the_query_string_is_utf8_whatever_the_body_charset(
    client: Client, monitor: Monitor, charset: str
) -> None:
    rid = "6f1e3c1a-8a44-4c39-9b55-1f1f5c9b7a10"
    response = client.generic(
        "POST",
        f"/ping/{monitor.ping_uuid}/start?rid={rid}&meta.city=K%C3%B6ln",
        "log".encode(charset),
        content_type=f"text/plain; charset={charset}",
    )
    assert response.status_code == 200
    run = Run.objects.get(monitor=monitor)
    assert (str(run.rid), run.meta) == (rid, {"city": "Köln"})


def test_a_bad_rid_is_refused_whatever_the_body_charset(client: Client, monitor: Monitor) -> None:
    response = client.generic(
        "POST", f"/ping/{monitor.ping_uuid}?rid=%FF%FF", b"", content_type="text/plain; charset=utf-16"
    )
    assert_refused(response, monitor, "rid must be a uuid")
