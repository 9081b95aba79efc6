"""API edits racing pings through real HTTP on PostgreSQL: neither loses the other's change.

Edits used to save the whole monitor row from an unlocked read, so a ping committed in
between was overwritten (`open_runs`, `last_ping_at`…), which could later raise a false
`too_long`. Now every edit locks the row and writes only what it changes.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db.models import Max

from monitors.api_keys import api_key_create
from monitors.models import Monitor, MonitorStatus
from pings.models import Ping, PingKind, Run, RunStatus
from tests.factories import MonitorFactory, ProjectFactory

PING_THREADS = 4
RUNS_PER_THREAD = 60
EDITS = 120


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_edits_racing_pings_lose_nothing(live_server: Any) -> None:
    project = ProjectFactory.create()
    monitor = MonitorFactory.create(
        project=project, interval_seconds=3600, grace_seconds=300, allow_overlap=True
    )
    _, key = api_key_create(project=project, name="editor")
    address = urlsplit(str(live_server))
    answered: Counter[int] = Counter()
    lock = threading.Lock()

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=60)

    def pinger() -> None:
        connection = connect()
        for _ in range(RUNS_PER_THREAD):
            rid = uuid.uuid4()
            for suffix in ("/start", ""):
                connection.request("POST", f"/ping/{monitor.ping_uuid}{suffix}?rid={rid}", body=b"")
                response = connection.getresponse()
                response.read()
                with lock:
                    answered[response.status] += 1
        connection.close()

    last_edit: dict[str, Any] = {}

    def editor() -> None:
        connection = connect()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        for n in range(EDITS):
            body = {"name": f"edited {n}", "tags": [f"t{n % 3}"], "grace_seconds": 300 + n % 2}
            connection.request(
                "PATCH", f"/api/v1/monitors/{monitor.id}/", body=json.dumps(body), headers=headers
            )
            response = connection.getresponse()
            assert response.status == 200, response.read()
            response.read()
            last_edit.update(body)
        connection.close()

    threads = [threading.Thread(target=pinger) for _ in range(PING_THREADS)]
    threads.append(threading.Thread(target=editor))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    sent = PING_THREADS * RUNS_PER_THREAD * 2
    assert answered == Counter({200: sent})
    assert Ping.objects.filter(monitor=monitor).count() == sent
    stored = Monitor.objects.get(id=monitor.id)
    runs = Run.objects.filter(monitor=monitor)
    # The pings' changes survived every edit…
    assert runs.count() == PING_THREADS * RUNS_PER_THREAD
    assert not runs.filter(status=RunStatus.RUNNING).exists()
    assert (stored.open_runs, stored.running_since) == (0, None)
    assert (
        stored.last_ping_at
        == Ping.objects.filter(monitor=monitor).aggregate(Max("received_at"))["received_at__max"]
    )
    assert stored.consecutive_good == runs.filter(status=RunStatus.SUCCESS).count()
    finishes = Ping.objects.filter(monitor=monitor).exclude(kind=PingKind.START).order_by("id")
    durations = [ping.run.duration_ms for ping in finishes.select_related("run") if ping.run is not None]
    assert stored.recent_durations_ms == durations[-20:]
    assert stored.status == MonitorStatus.UP
    # …and the edits survived every ping.
    assert (stored.name, stored.tags, stored.grace_seconds) == (
        last_edit["name"],
        last_edit["tags"],
        last_edit["grace_seconds"],
    )
