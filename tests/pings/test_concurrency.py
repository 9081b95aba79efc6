"""Many clients at once through real HTTP: every acknowledged ping is stored, runs pair up."""

from __future__ import annotations

import http.client
import random
import threading
import uuid
from collections import Counter
from urllib.parse import urlsplit

import pytest

from monitors.models import Monitor
from pings.models import Ping, Run, RunStatus
from tests.factories import MonitorFactory, ProjectFactory

THREADS = 8
PINGS_PER_THREAD = 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_threads_of_pings_are_all_stored_with_runs_paired(live_server: object) -> None:
    project = ProjectFactory.create()
    monitors = [MonitorFactory.create(project=project) for _ in range(20)]
    address = urlsplit(str(live_server))
    answered: Counter[int] = Counter()
    rids_by_monitor: dict[int, list[uuid.UUID]] = {monitor.id: [] for monitor in monitors}
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
        sent = 0
        while sent < PINGS_PER_THREAD:
            monitor = rng.choice(monitors)
            rid = uuid.uuid4()
            # A start and its finish with the same rid: pairing must survive interleaving.
            for suffix in ("/start", f"/{rng.choice([0, 0, 0, 1])}"):
                connection.request("POST", f"/ping/{monitor.ping_uuid}{suffix}?rid={rid}", body=b"log line")
                response = connection.getresponse()
                response.read()
                with lock:
                    answered[response.status] += 1
                sent += 1
            with lock:
                rids_by_monitor[monitor.id].append(rid)
        connection.close()

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answered == Counter({200: THREADS * PINGS_PER_THREAD})
    assert Ping.objects.count() == THREADS * PINGS_PER_THREAD
    for monitor in monitors:
        runs = list(Run.objects.filter(monitor=monitor))
        assert sorted(str(run.rid) for run in runs) == sorted(str(rid) for rid in rids_by_monitor[monitor.id])
        assert all(run.status in (RunStatus.SUCCESS, RunStatus.FAILED) for run in runs)
        assert all(run.duration_ms is not None and run.started_at is not None for run in runs)
        assert all(run.pings.count() == 2 for run in runs)
        assert Monitor.objects.get(id=monitor.id).open_runs == 0
