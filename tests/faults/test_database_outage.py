"""The database goes away under a running Vigil (gunicorn against our own PostgreSQL).

While it is down, every ping URL, status page and badge answers 503 with a short plain-text
reason (the API a 503 in its JSON error shape), never Django's HTML "Server Error (500)", and
/healthz says the database is what is down. When it returns, Vigil recovers by itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest

from tests.faults.servers import Answer, PostgresServer, RedisServer, Vigil, wait_until
from tests.faults.site import Site, site_open

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def site(postgres: PostgresServer, redis: RedisServer, vigil: Vigil, api_key: str) -> Site:
    # Steady load on one monitor, past 600 pings a minute: without the rate limit (its own
    # tests in tests/pings/test_rate_limit.py), every answer is a 200 or the outage's 503.
    vigil.configure(database_url=postgres.url(), redis_url=redis.url(), PING_RATE_LIMIT_PER_MINUTE="0")
    return site_open(vigil.start_web(workers=2), api_key)


def ping_urls(site: Site) -> list[tuple[str, str]]:
    uuid, key, slug = site.ping_uuid, site.ping_key, site.slug
    return [
        ("GET", f"/ping/{uuid}"),
        ("HEAD", f"/ping/{uuid}"),
        ("POST", f"/ping/{uuid}/start"),
        ("PUT", f"/ping/{uuid}/fail"),
        ("GET", f"/ping/{uuid}/log"),
        ("GET", f"/ping/{uuid}/3"),
        ("GET", f"/ping/{uuid}?rid=6f1e3c1a-8a44-4c39-9b55-1f1f5c9b7a10"),
        ("GET", f"/ping/{key}/{slug}"),
        ("POST", f"/ping/{key}/{slug}/0"),
        ("GET", f"/ping/{key}/new-job?create=1"),
        ("GET", "/ping/00000000-0000-4000-8000-000000000000"),  # unknown: 503 too, nobody can tell
    ]


def assert_short_text_503(answer: Answer, what: str) -> None:
    assert answer.status == 503, (what, answer.status, answer.text())
    assert answer.content_type.startswith("text/plain"), (what, answer.content_type)
    assert answer.headers.get("retry-after") == "5", what
    assert b"<" not in answer.body, (what, answer.body)
    assert len(answer.body) < 200, (what, answer.body)


def test_while_postgresql_is_down_every_answer_is_a_short_503_and_vigil_recovers_by_itself(
    postgres: PostgresServer, site: Site, vigil: Vigil
) -> None:
    assert site.get(f"/ping/{site.ping_uuid}").status == 200
    assert site.get(f"/ping/{site.ping_key}/{site.slug}").status == 200
    web_pid = site.web.popen.pid

    postgres.stop()

    # Several rounds: each gunicorn worker meets the outage with its own broken connection.
    for _ in range(3):
        for method, path in ping_urls(site):
            answer = site.get(path, method, body=b"job output" if method in ("POST", "PUT") else b"")
            assert_short_text_503(answer, f"{method} {path}")
            if method != "HEAD":
                assert answer.text() == "database unavailable: the ping was not stored, try again shortly"
            assert (
                answer.headers["cache-control"] == "no-cache, no-store, must-revalidate, private, max-age=0"
            )
            assert answer.headers["ping-body-limit"] == "100000"
        for path in (
            f"/status/{site.status_key}/",
            f"/badge/{site.badge_key}.svg",
            f"/badge/{site.badge_key}/{site.slug}.svg",
            f"/metrics/{site.status_key}",
        ):
            assert_short_text_503(site.get(path), path)
        api = site.get("/api/v1/monitors/", api=True)
        assert (api.status, api.content_type) == (503, "application/json")
        assert json.loads(api.body) == {"detail": "Database unavailable, try again shortly."}
        health = site.get("/healthz")
        assert health.status == 503
        body = json.loads(health.body)
        assert (body["status"], body["database"]) == ("error", "error")
        assert body["reason"].startswith("database: ")

    postgres.start()

    # No restart of Vigil: the next requests reconnect.
    wait_until(
        lambda: site.get(f"/ping/{site.ping_uuid}").status == 200, timeout=10, what="pings accepted again"
    )
    for _ in range(4):  # both workers
        assert site.get(f"/ping/{site.ping_key}/{site.slug}").status == 200
        assert site.get(f"/status/{site.status_key}/").status == 200
        assert json.loads(site.get("/healthz").body)["database"] == "ok"
    assert site.web.alive
    assert site.web.popen.pid == web_pid
    assert "Internal Server Error" not in vigil.logs()


def test_pings_through_a_restart_are_answered_200_or_503_and_every_200_is_stored(
    postgres: PostgresServer, site: Site, vigil: Vigil
) -> None:
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def steady_pings() -> None:
        while not stop.is_set():
            try:
                statuses[site.get(f"/ping/{site.ping_uuid}").status] += 1
            except OSError:
                statuses[0] += 1  # no answer at all: counted, and must not happen

    sender = threading.Thread(target=steady_pings)
    sender.start()
    try:
        wait_until(lambda: statuses[200] >= 20, timeout=30, what="pings before the restart")
        postgres.restart()
        before = statuses[200]
        wait_until(lambda: statuses[200] >= before + 20, timeout=30, what="pings after the restart")
    finally:
        stop.set()
        sender.join()

    assert set(statuses) <= {200, 503}, statuses
    assert site.stored_pings() == statuses[200]
    assert "Internal Server Error" not in vigil.logs()


OUTAGE_SECONDS = 10


def test_pings_through_a_ten_second_stop_get_a_short_503_and_every_200_is_stored(
    postgres: PostgresServer, site: Site, vigil: Vigil
) -> None:
    statuses: Counter[int] = Counter()
    refusals: list[Answer] = []
    stop = threading.Event()

    def steady_pings() -> None:
        while not stop.is_set():
            try:
                answer = site.get(f"/ping/{site.ping_uuid}", "POST", body=b"steady")
            except OSError:
                statuses[0] += 1  # no answer at all: counted, and must not happen
                continue
            statuses[answer.status] += 1
            if answer.status != 200 and len(refusals) < 50:
                refusals.append(answer)

    senders = [threading.Thread(target=steady_pings) for _ in range(2)]
    for sender in senders:
        sender.start()
    try:
        wait_until(lambda: statuses[200] >= 20, timeout=30, what="pings before the stop")
        postgres.stop()
        stopped_at = time.monotonic()
        health = json.loads(site.get("/healthz").body)
        wait_until(lambda: statuses[503] >= 20, timeout=OUTAGE_SECONDS, what="503s during the stop")
        # The stop lasts its ten seconds whatever the load does meanwhile.
        time.sleep(max(0.0, stopped_at + OUTAGE_SECONDS - time.monotonic()))
        postgres.start()
        before = statuses[200]
        wait_until(lambda: statuses[200] >= before + 20, timeout=30, what="pings after the stop")
    finally:
        stop.set()
        for sender in senders:
            sender.join()

    assert (health["status"], health["database"]) == ("error", "error")
    assert health["reason"].startswith("database: ")
    assert set(statuses) == {200, 503}, statuses
    for answer in refusals:
        assert_short_text_503(answer, "a ping during the stop")
    assert site.stored_pings() == statuses[200]
    assert json.loads(site.get("/healthz").body)["database"] == "ok"
    assert "Internal Server Error" not in vigil.logs()
