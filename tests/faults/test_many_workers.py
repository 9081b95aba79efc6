"""Two beat processes and three workers (each on both queues, so sweeps, dispatches and
deliveries all run side by side, every schedule twice over) through 1,000 transitions from
pings and a few from the sweeper: every notification arrives, none twice."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.alerts.loopback import HttpReceiver
from tests.faults.servers import PostgresServer, RedisServer, Vigil, wait_until
from tests.faults.site import Site, count, site_open

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# Two rounds (a fail then a success: a problem and a recovery each) per monitor: a third
# incident within FLAP_WINDOW_SECONDS would mark it flapping and hold its notifications.
PINGED_MONITORS = 250
ROUNDS = 2
MISSING_MONITORS = 10  # never pinged: missed once each, found by the sweepers
SENDERS = 5


def test_two_beats_and_three_workers_send_every_notification_exactly_once(
    postgres: PostgresServer, redis: RedisServer, vigil: Vigil, api_key: str
) -> None:
    vigil.configure(database_url=postgres.url(), redis_url=redis.url())
    with HttpReceiver() as receiver:
        site = site_open(vigil.start_web(workers=2), api_key)
        channel = site.webhook_channel(receiver.url)
        pinged = [site.monitor(f"job-{n}", channels=[channel]) for n in range(PINGED_MONITORS)]
        for n in range(MISSING_MONITORS):
            site.monitor(f"missing-{n}", seconds=2, grace=0, channels=[channel])
        for _ in range(3):
            vigil.start_worker("celery", "housekeeping")
        vigil.start_beat()
        vigil.start_beat()

        send_transitions(site, pinged)
        expected = PINGED_MONITORS * ROUNDS * 2 + MISSING_MONITORS
        wait_until(
            lambda: (
                count(postgres, "SELECT count(*) FROM alerts_notification WHERE status = 'delivered'")
                >= expected
            ),
            timeout=120,
            what=f"{expected} notifications delivered",
            interval=0.5,
        )
        time.sleep(2)  # a late second send would show up here
        requests = list(receiver.requests)

    ids = Counter(request.headers["webhook-id"] for request in requests)
    duplicates = {webhook_id: n for webhook_id, n in ids.items() if n > 1}
    assert duplicates == {}
    assert len(ids) == expected
    events = Counter((r.json()["monitor"]["slug"].split("-")[0], r.json()["event"]) for r in requests)
    assert events == {
        ("job", "problem"): PINGED_MONITORS * ROUNDS,
        ("job", "recovered"): PINGED_MONITORS * ROUNDS,
        ("missing", "problem"): MISSING_MONITORS,
    }
    assert count(postgres, "SELECT count(*) FROM alerts_notification") == expected
    assert count(postgres, "SELECT count(DISTINCT message_id) FROM alerts_notification") == expected
    assert "Traceback" not in vigil.logs()


def send_transitions(site: Site, uuids: list[str]) -> None:
    """Each monitor's pings in order (fail, success, fail, …), monitors spread over threads."""
    failures: list[str] = []

    def send(share: list[str]) -> None:
        for _ in range(ROUNDS):
            for uuid in share:
                for path in (f"/ping/{uuid}/fail", f"/ping/{uuid}"):
                    status = site.get(path).status
                    if status != 200:
                        failures.append(f"{path}: {status}")

    threads = [threading.Thread(target=send, args=(uuids[n::SENDERS],)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
