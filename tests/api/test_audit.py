"""`GET /api/v1/audit/`: read-only, paginated, newest first, the fields of CONTRACT §4."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from monitors.actors import Actor, acting_as
from monitors.audit import audit_record
from monitors.models import AuditEntry, AuditVia, Monitor, Project
from tests.conftest import make_client, results
from tests.factories import MonitorFactory, ProjectFactory, member


@pytest.fixture(autouse=True)
def empty_log(api: APIClient) -> None:
    """Creating the test's key is itself an entry; the tests start from an empty log."""
    AuditEntry.objects.all().delete()


def test_an_entry_has_exactly_the_contract_fields(api: APIClient, monitor: Monitor) -> None:
    api.patch(f"/api/v1/monitors/{monitor.id}/", {"name": "Renamed"}, format="json")
    (entry,) = [item for item in results(api.get("/api/v1/audit/")) if item["action"] == "monitor.update"]
    assert set(entry) == {"id", "at", "actor", "via", "action", "object", "changes", "address"}
    assert entry["actor"] == {"key": "test", "prefix": entry["actor"]["prefix"]}
    assert entry["actor"]["prefix"].startswith("vgl_")
    assert entry["via"] == "api"
    assert entry["object"] == {"type": "monitor", "id": str(monitor.id), "name": "Renamed"}
    assert entry["changes"] == {"name": [monitor.name, "Renamed"]}
    assert entry["address"] == "127.0.0.1"


def test_a_person_is_named_by_e_mail_and_the_command_line_by_nobody(api: APIClient, project: Project) -> None:
    user = member(project, email="grace@example.com")
    with acting_as(Actor(via=AuditVia.UI, user=user)):
        audit_record(project=project, action="project.update", obj=project, changes={"name": ["a", "b"]})
    audit_record(project=project, action="project.update", obj=project, changes={"name": ["b", "c"]})
    cli, ui = results(api.get("/api/v1/audit/"))
    assert ui["actor"] == {"user": "grace@example.com"}
    assert ui["via"] == "ui"
    assert cli["actor"] == {"user": None}
    assert cli["via"] == "cli"


def test_newest_first_and_paginated(api: APIClient, project: Project) -> None:
    now = timezone.now()
    monitor = MonitorFactory.create(project=project)
    for minutes in range(60):
        audit_record(
            project=project, action="monitor.pause", obj=monitor, at=now - timedelta(minutes=minutes)
        )
    first = api.get("/api/v1/audit/").json()
    assert first["count"] == 60
    assert len(first["results"]) == 50
    assert first["next"] is not None
    assert first["previous"] is None
    times = [item["at"] for item in first["results"]]
    assert times == sorted(times, reverse=True)
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 10
    assert {item["id"] for item in first["results"]}.isdisjoint(item["id"] for item in second["results"])


def test_read_only_keys_read_it_and_nobody_writes_it(project: Project, monitor: Monitor) -> None:
    audit_record(project=project, action="monitor.pause", obj=monitor)
    for client in (make_client(project, read_only=True), make_client(project)):
        assert client.get("/api/v1/audit/").status_code == 200
        assert client.post("/api/v1/audit/", {}, format="json").status_code in (403, 405)
        assert client.delete("/api/v1/audit/").status_code in (403, 405)
    assert AuditEntry.objects.filter(action="monitor.pause").count() == 1


def test_filters_and_a_bad_filter(api: APIClient, project: Project, monitor: Monitor) -> None:
    now = timezone.now()
    audit_record(project=project, action="monitor.pause", obj=monitor, at=now - timedelta(days=3))
    audit_record(project=project, action="channel.create", object_type="channel", at=now)
    assert [item["action"] for item in results(api.get("/api/v1/audit/?action=monitor"))] == ["monitor.pause"]
    since = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert [item["action"] for item in results(api.get("/api/v1/audit/", {"since": since}))] == [
        "channel.create"
    ]
    assert [item["action"] for item in results(api.get("/api/v1/audit/?who=cli"))] == [
        "channel.create",
        "monitor.pause",
    ]
    bad = api.get("/api/v1/audit/?until=soon")
    assert bad.status_code == 400
    assert "until" in bad.json()


def test_another_projects_entries_are_invisible(api: APIClient, project: Project) -> None:
    other = ProjectFactory.create()
    audit_record(project=other, action="project.update", obj=other)
    assert results(api.get("/api/v1/audit/")) == []
