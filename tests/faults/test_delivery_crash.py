"""A delivery worker SIGKILLed while a slow receiver holds its request, then the receiver down
for a while: every notification still arrives, and each under one `webhook-id` only (the id
is the outbox row's, whichever worker sends it and however often)."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from tests.alerts.loopback import HttpReceiver, Received, Reply
from tests.faults.servers import PostgresServer, RedisServer, Vigil, wait_until
from tests.faults.site import count, site_open

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

JOBS = ("backup", "report", "cleanup")


def test_a_killed_worker_and_a_receiver_down_for_a_while_lose_nothing_and_never_change_an_id(
    postgres: PostgresServer, redis: RedisServer, vigil: Vigil, api_key: str
) -> None:
    vigil.configure(
        database_url=postgres.url(),
        redis_url=redis.url(),
        # A killed worker's claim runs out quickly, and retries come every second or two.
        NOTIFICATION_CLAIM_SECONDS="2",
        NOTIFICATION_RETRY_DELAYS="1,1,2",
    )
    received: list[Received] = []
    first = HttpReceiver()
    port = first.port
    with first:
        # Every request is held until its worker is gone (the worker sends a batch at once).
        first.script(*[Reply(200, delay=8)] * len(JOBS))
        site = site_open(vigil.start_web(workers=1), api_key)
        vigil.start_worker("housekeeping", name="housekeeping")
        doomed = vigil.start_worker("celery", name="delivery")
        vigil.start_beat()
        channel = site.webhook_channel(first.url)
        for job in JOBS:
            uuid = site.monitor(job, channels=[channel])
            assert site.get(f"/ping/{uuid}/fail").status == 200

        wait_until(lambda: len(first.requests) >= 1, timeout=60, what="a delivery under way")
        doomed.kill()
        received.extend(first.requests)

    # The receiver is down: the next worker's attempts are refused and retried with backoff.
    vigil.start_worker("celery", name="delivery")
    wait_until(
        lambda: (
            count(postgres, "SELECT count(*) FROM alerts_deliveryattempt WHERE status_code IS NULL")
            >= len(JOBS) + 2
        ),
        timeout=60,
        what="refused attempts while the receiver is down",
        interval=0.2,
    )
    assert count(postgres, "SELECT count(*) FROM alerts_notification WHERE status = 'delivered'") == 0

    with HttpReceiver(port=port) as back:
        wait_until(
            lambda: (
                count(postgres, "SELECT count(*) FROM alerts_notification WHERE status = 'delivered'")
                == len(JOBS)
            ),
            timeout=60,
            what="every notification delivered once the receiver is back",
            interval=0.2,
        )
        time.sleep(2)  # a late second send would show up here
        received.extend(back.requests)

    ids_by_job: defaultdict[str, set[str]] = defaultdict(set)
    for request in received:
        body = request.json()
        assert body["event"] == "problem"
        ids_by_job[body["monitor"]["slug"]].add(request.headers["webhook-id"])
    assert set(ids_by_job) == set(JOBS)
    assert all(len(ids) == 1 for ids in ids_by_job.values()), ids_by_job
    stored_ids = postgres.psql("SELECT message_id FROM alerts_notification", database="vigil").split()
    assert set().union(*ids_by_job.values()) == set(stored_ids)
    assert len(stored_ids) == len(JOBS)
    # The held request was one of them: it arrived twice under the same id (at least once).
    assert len(received) > len(JOBS)
