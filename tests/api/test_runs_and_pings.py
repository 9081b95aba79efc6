"""`monitors/<id>/runs/` and `monitors/<id>/pings/`: newest first, paginated (CONTRACT §4)."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from monitors.models import Monitor
from pings.models import Run
from tests.api.builders import make_ping, make_run
from tests.conftest import results
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db

RUN_FIELDS = {
    "id",
    "rid",
    "status",
    "started_at",
    "finished_at",
    "duration_ms",
    "exit_code",
    "meta",
    "log",
    "log_truncated",
    "manual",
    "requested_by",
}


def test_runs_newest_first_with_contract_fields(api: APIClient, monitor: Monitor) -> None:
    rid = uuid.uuid4()
    older = make_run(monitor, status="failed", exit_code=3, log="boom", meta={"records": 0})
    newer = make_run(monitor, status="running", rid=rid, finished_at=None)
    MonitorFactory.create(project=monitor.project).runs.create(status="success")
    items = results(api.get(f"/api/v1/monitors/{monitor.id}/runs/"))
    assert [item["id"] for item in items] == [newer.id, older.id]
    assert set(items[0]) == RUN_FIELDS
    assert items[0]["rid"] == str(rid)
    assert items[0]["status"] == "running"
    assert items[1] | {"id": 0} == {
        "id": 0,
        "rid": None,
        "status": "failed",
        "started_at": None,
        "finished_at": items[1]["finished_at"],
        "duration_ms": None,
        "exit_code": 3,
        "meta": {"records": 0},
        "log": "boom",
        "log_truncated": False,
        "manual": False,
        "requested_by": None,
    }


def test_runs_are_paginated(api: APIClient, monitor: Monitor) -> None:
    Run.objects.bulk_create([Run(monitor=monitor, status="success") for _ in range(55)])
    first = api.get(f"/api/v1/monitors/{monitor.id}/runs/").json()
    assert (first["count"], len(first["results"])) == (55, 50)
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 5
    assert second["results"][-1]["id"] == min(run.id for run in Run.objects.all())


def test_pings_newest_first(api: APIClient, monitor: Monitor) -> None:
    start = make_ping(monitor, kind="start", body="starting")
    finish = make_ping(monitor, kind="exit", exit_code=0)
    items = results(api.get(f"/api/v1/monitors/{monitor.id}/pings/"))
    assert [item["id"] for item in items] == [finish.id, start.id]
    assert items[1]["kind"] == "start"
    assert items[1]["body"] == "starting"
    assert items[0]["exit_code"] == 0


def test_pings_are_paginated(api: APIClient, monitor: Monitor) -> None:
    for _ in range(51):
        make_ping(monitor)
    body = api.get(f"/api/v1/monitors/{monitor.id}/pings/?page=2").json()
    assert body["count"] == 51
    assert len(body["results"]) == 1


def test_unknown_monitor_is_404(api: APIClient) -> None:
    assert api.get("/api/v1/monitors/999999/runs/").status_code == 404
    assert api.get("/api/v1/monitors/999999/pings/").status_code == 404
