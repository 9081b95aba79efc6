"""Unit tests: the time budget, retries, ping URLs and bodies, value parsing."""

from __future__ import annotations

import json
import threading
import time

import pytest
from vigil_client.api import ApiClient, ApiError
from vigil_client.pings import (
    ConfigError,
    PingTarget,
    encode_body,
    parse_kind,
    parse_meta_pairs,
    parse_meta_value,
)
from vigil_client.schedules import parse_duration, schedule_payload
from vigil_client.transport import Budget, DeliveryError, RejectedError, Transport

from tests.client.conftest import API_KEY, FakeVigil


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_budget_counts_only_time_with_traffic() -> None:
    clock = FakeClock()
    budget = Budget(10, clock=clock)
    with budget.running():
        clock.now += 3
    clock.now += 100  # The job runs; no requests in flight.
    assert budget.remaining() == 7
    with budget.running():
        clock.now += 1
        with budget.running():  # Overlapping requests count once.
            clock.now += 2
        assert budget.remaining() == 4
    assert budget.remaining() == 4
    with budget.running():
        clock.now += 50
    assert budget.remaining() == 0


def test_retries_until_success(fake_vigil: FakeVigil) -> None:
    fake_vigil.fail("/ping/", status=503, times=3)
    sleeps: list[float] = []
    transport = Transport(Budget(30), sleep=sleeps.append)

    response = transport.request("POST", f"{fake_vigil.url}/ping/x", body=b"hi")

    assert response.status == 200
    assert response.body == b"OK"
    assert len(fake_vigil.pings()) == 4
    # Exponential backoff with +-20 % jitter: about 0.25, 0.5, 1.
    for slept, base in zip(sleeps, (0.25, 0.5, 1.0), strict=True):
        assert 0.8 * base <= slept <= 1.2 * base


def test_gives_up_when_budget_is_spent(closed_port: int) -> None:
    transport = Transport(Budget(0.6))
    started = time.monotonic()

    with pytest.raises(DeliveryError, match="refused"):
        transport.request("POST", f"http://127.0.0.1:{closed_port}/ping/x")

    assert time.monotonic() - started < 1.0


def test_zero_budget_sends_nothing(fake_vigil: FakeVigil) -> None:
    with pytest.raises(DeliveryError):
        Transport(Budget(0)).request("POST", f"{fake_vigil.url}/ping/x")
    assert fake_vigil.requests == []


def test_client_errors_are_final(fake_vigil: FakeVigil) -> None:
    fake_vigil.fail("/ping/", status=404, times=3, body=b"no such check")

    with pytest.raises(RejectedError) as info:
        Transport(Budget(30)).request("POST", f"{fake_vigil.url}/ping/x")

    assert info.value.status == 404
    assert "no such check" in str(info.value)
    assert len(fake_vigil.requests) == 1


def test_retry_after_longer_than_budget_gives_up_at_once(fake_vigil: FakeVigil) -> None:
    fake_vigil.fail("/ping/", status=429, times=3, headers={"Retry-After": "120"})
    started = time.monotonic()

    with pytest.raises(DeliveryError, match="retry after 120"):
        Transport(Budget(5)).request("POST", f"{fake_vigil.url}/ping/x")

    assert time.monotonic() - started < 1
    assert len(fake_vigil.requests) == 1


def test_post_redirect_is_not_followed(fake_vigil: FakeVigil) -> None:
    fake_vigil.fail("/ping/", status=301, headers={"Location": "https://elsewhere/ping/x"})

    with pytest.raises(RejectedError, match="redirected to https://elsewhere/ping/x"):
        Transport(Budget(5)).request("POST", f"{fake_vigil.url}/ping/x", body=b"log")


def test_slow_answer_is_cut_by_the_budget(fake_vigil: FakeVigil) -> None:
    fake_vigil.fail("/ping/", status=0, times=1, delay=3)
    started = time.monotonic()

    with pytest.raises(DeliveryError, match="timed out"):
        Transport(Budget(0.5)).request("POST", f"{fake_vigil.url}/ping/x")

    assert time.monotonic() - started < 1.5


def test_shared_budget_across_threads(closed_port: int) -> None:
    budget = Budget(0.8)
    errors: list[Exception] = []

    def send() -> None:
        try:
            Transport(budget).request("POST", f"http://127.0.0.1:{closed_port}/ping/x")
        except DeliveryError as exc:
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 3
    assert time.monotonic() - started < 1.5


# ---- pings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("success", "https://v.example/ping/abc"),
        ("start", "https://v.example/ping/abc/start"),
        ("fail", "https://v.example/ping/abc/fail"),
        ("log", "https://v.example/ping/abc/log"),
        (0, "https://v.example/ping/abc/0"),
        (137, "https://v.example/ping/abc/137"),
    ],
)
def test_ping_urls(kind: str | int, expected: str) -> None:
    assert PingTarget.from_url("https://v.example/ping/abc/").url(kind) == expected


def test_ping_url_keeps_query_and_adds_rid() -> None:
    target = PingTarget.from_slug("https://v.example/", "k/ey", "my job", create=True)
    assert target.url("start", rid="r1") == "https://v.example/ping/k%2Fey/my%20job/start?create=1&rid=r1"
    assert PingTarget.from_url("http://h/ping/x?rid=old").url(3, rid="new") == "http://h/ping/x/3?rid=new"


@pytest.mark.parametrize("bad", ["ftp://h/ping/x", "not a url", "/ping/x"])
def test_ping_target_rejects_bad_urls(bad: str) -> None:
    with pytest.raises(ConfigError, match="not an http"):
        PingTarget.from_url(bad)


@pytest.mark.parametrize("text", ["256", "-1", "finish", "1.5"])
def test_parse_kind_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="exit code 0-255"):
        parse_kind(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("42", 42), ("-3", -3), ("0", 0), ("1.5", 1.5), ("1e3", 1000.0), ("-0.5E-2", -0.005),
     ("true", True), ("false", False), ("007", "007"), ("1.", "1."), (".5", ".5"), ("True", "True"),
     ("", ""), ("1.2.3", "1.2.3"), ("0x10", "0x10"), ("NaN", "NaN"), ("+1", "+1")],
)  # fmt: skip
def test_meta_value_typing(text: str, value: object) -> None:
    parsed = parse_meta_value(text)
    assert parsed == value
    assert type(parsed) is type(value)


def test_meta_pairs() -> None:
    assert parse_meta_pairs(["a=1", "b=x=y", "c="]) == {"a": 1, "b": "x=y", "c": ""}
    with pytest.raises(ValueError, match="key=value"):
        parse_meta_pairs(["novalue"])


def test_encode_body() -> None:
    assert encode_body(b"plain \xff", None) == (b"plain \xff", "text/plain; charset=utf-8")
    body, kind = encode_body(b"log \xff", {"n": 1})
    assert kind == "application/json"
    assert json.loads(body) == {"meta": {"n": 1}, "log": "log \ufffd"}
    assert encode_body(None, None) == (b"", "text/plain; charset=utf-8")


# ---- schedules and the API client -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(90, 90), ("90", 90), ("10m", 600), ("1h30m", 5400), ("2d", 172800), ("1w", 604800), ("1H 5S", 3605)],
)
def test_parse_duration(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "10 minutes", "1.5h", True, -5, None, "m"])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_schedule_payload_macros() -> None:
    assert schedule_payload(schedule="@hourly") == {
        "kind": "cron",
        "expression": "0 * * * *",
        "timezone": "UTC",
    }
    with pytest.raises(ValueError, match="unknown macro"):
        schedule_payload(schedule="@reboot")


def test_api_follows_next_links_on_its_own_server(fake_vigil: FakeVigil) -> None:
    for i in range(5):
        fake_vigil.add_monitor(f"m{i}")
    real_url = fake_vigil.url
    # Behind a proxy the server may build `next` links with another scheme and host.
    fake_vigil.url = "https://public.example"
    client = ApiClient(real_url + "/", API_KEY, Transport(Budget(5)))

    assert [m["slug"] for m in client.monitors()] == ["m0", "m1", "m2", "m3", "m4"]
    assert len([r for r in fake_vigil.requests if r.path == "/api/v1/monitors/"]) == 3


def test_api_error_message_from_drf(fake_vigil: FakeVigil) -> None:
    client = ApiClient(fake_vigil.url, API_KEY, Transport(Budget(5)))
    fake_vigil.add_monitor("taken")

    with pytest.raises(ApiError, match=r"HTTP 400: slug: A monitor with this slug already exists\.") as info:
        client.create_monitor({"slug": "taken"})
    assert info.value.status == 400
