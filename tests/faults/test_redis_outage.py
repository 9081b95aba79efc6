"""Redis (broker and cache) stopped for 20 s under a running Vigil, against our own servers.

The ping path needs only the database: every ping is answered 200 and stored throughout. Beat
cannot hand work to the workers while Redis is away, so a monitor whose deadline passes
meanwhile is judged once Redis is back (its deadline fell inside our own outage, so it gets the
outage's length back as grace first): one `problem` notification, delivered once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.alerts.loopback import HttpReceiver
from tests.faults.servers import PostgresServer, RedisServer, Vigil, http_request, wait_until
from tests.faults.site import count, site_open

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

OUTAGE_SECONDS = 20


def test_pings_are_stored_through_a_redis_outage_and_a_monitor_missed_meanwhile_is_alerted_once(
    postgres: PostgresServer, redis: RedisServer, vigil: Vigil, api_key: str
) -> None:
    vigil.configure(
        database_url=postgres.url(),
        redis_url=redis.url(),
        NOTIFICATION_RETRY_DELAYS="1",
        # Steady load on a few monitors, far past 600 a minute each: the rate limit (its own
        # tests in tests/pings/test_rate_limit.py) would answer 429 to most of it.
        PING_RATE_LIMIT_PER_MINUTE="0",
    )
    with HttpReceiver() as receiver:
        site = site_open(vigil.start_web(workers=2), api_key)
        vigil.start_worker("housekeeping", name="housekeeping")
        vigil.start_worker("celery")
        vigil.start_beat()
        wait_until(
            lambda: http_request(site.web.base_url, "GET", "/healthz").status == 200,
            timeout=60,
            what="healthz 200 (sweeper and a delivery worker reporting)",
            interval=0.2,
        )
        channel = site.webhook_channel(receiver.url)
        missing = site.monitor("goes-missing", seconds=4, grace=1, channels=[channel])
        assert site.get(f"/ping/{missing}").status == 200

        statuses: Counter[int] = Counter()
        stop = threading.Event()

        def steady_pings() -> None:
            while not stop.is_set():
                try:
                    statuses[site.get(f"/ping/{site.ping_uuid}").status] += 1
                except OSError:
                    statuses[0] += 1
                time.sleep(0.01)

        sender = threading.Thread(target=steady_pings)
        sender.start()
        try:
            redis.stop()
            stopped_at = time.monotonic()
            # goes-missing is due 5 s after its ping: inside the outage, with nobody to judge it.
            time.sleep(max(0.0, stopped_at + OUTAGE_SECONDS - time.monotonic()))
            during = statuses[200]
            assert receiver.requests == [], "nothing can be dispatched while Redis is away"
            redis.start()

            def alerted() -> bool:
                return any(request.json()["event"] == "problem" for request in receiver.requests)

            wait_until(alerted, timeout=90, what="the missed monitor alerted", interval=0.2)
            # A few more dispatcher ticks: a second send would show up here.
            time.sleep(3)
        finally:
            stop.set()
            sender.join()

        problems = [request for request in receiver.requests if request.json()["event"] == "problem"]
        assert len(problems) == 1, vigil.logs()
        assert problems[0].json()["monitor"]["slug"] == "goes-missing"
        assert problems[0].json()["problem"]["kind"] == "missed"
        assert count(postgres, "SELECT count(*) FROM alerts_notification") == 1
        assert count(postgres, "SELECT count(*) FROM alerts_notification WHERE status = 'delivered'") == 1

    assert set(statuses) == {200}, statuses
    assert during > 100, "pings went on during the outage"
    assert site.stored_pings() == statuses[200]
