"""Statements a ping sends: one on PostgreSQL for a monitor this process knows (issue 11).

A ping is judged against the process's copy of the monitor (pings.monitor_cache) and written in
one statement guarded by the copy's revision; a copy made stale by any other writer makes that
statement miss, and the row is read again. The rate limit is counted inside the same statement.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitors.models import Monitor
from monitors.projects import project_update
from monitors.services import monitor_update
from pings.body import PingBody
from pings.fastpath import WriteOutcome, by_uuid, write_ping_in_one_statement
from pings.models import Ping, PingKind, Run, RunStatus
from pings.rate_limit import rate_window
from pings.services import PingInput, ping_columns

pytestmark = pytest.mark.django_db

RID = "6f1e3c1a-8a44-4c39-9b55-1f1f5c9b7a10"


def statements(client: Client, path: str, *, status: int = 200) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
        assert response.status_code == status, response.content
    return [query["sql"].split()[0].upper() for query in queries.captured_queries]


def runs(monitor: Monitor) -> list[Run]:
    return list(Run.objects.filter(monitor=monitor).order_by("id"))


@pytest.mark.postgres
def test_a_known_monitors_ping_is_one_statement(client: Client, monitor: Monitor) -> None:
    assert statements(client, f"/ping/{monitor.ping_uuid}") == ["SELECT", "WITH"]
    assert statements(client, f"/ping/{monitor.ping_uuid}/0") == ["WITH"]
    assert statements(client, f"/ping/{monitor.ping_uuid}") == ["WITH"]
    assert [(run.status, run.exit_code) for run in runs(monitor)] == [
        (RunStatus.SUCCESS, None),
        (RunStatus.SUCCESS, 0),
        (RunStatus.SUCCESS, None),
    ]
    monitor.refresh_from_db()
    assert monitor.revision == 3
    assert monitor.rate_count == 3


@pytest.mark.postgres
def test_a_start_and_its_finish_are_one_statement_each(client: Client, monitor: Monitor) -> None:
    """The copy carries the run the start opened, so the finish closes it without a read."""
    client.get(f"/ping/{monitor.ping_uuid}")
    assert statements(client, f"/ping/{monitor.ping_uuid}/start?rid={RID}") == ["WITH"]
    assert statements(client, f"/ping/{monitor.ping_uuid}/0?rid={RID}") == ["WITH"]
    assert statements(client, f"/ping/{monitor.ping_uuid}/start") == ["WITH"]
    assert statements(client, f"/ping/{monitor.ping_uuid}") == ["WITH"]
    closed_with_rid, closed_oldest = runs(monitor)[1:]
    assert str(closed_with_rid.rid) == RID
    assert (closed_with_rid.status, closed_with_rid.exit_code) == (RunStatus.SUCCESS, 0)
    assert closed_with_rid.duration_ms is not None
    assert closed_oldest.status == RunStatus.SUCCESS
    assert [ping.kind for ping in closed_oldest.pings.order_by("id")] == ["start", "success"]
    monitor.refresh_from_db()
    assert (monitor.open_runs, monitor.running_since) == (0, None)


@pytest.mark.postgres
def test_a_change_by_another_writer_is_read_again_before_judging(client: Client, monitor: Monitor) -> None:
    client.get(f"/ping/{monitor.ping_uuid}")
    monitor_update(monitor=monitor, interval_seconds=600)
    # The stale copy's statement misses (nothing written), the row is read, the ping written.
    assert statements(client, f"/ping/{monitor.ping_uuid}") == ["WITH", "SELECT", "WITH"]
    monitor.refresh_from_db()
    assert monitor.last_ping_at is not None
    assert monitor.next_due_at == monitor.last_ping_at + timedelta(seconds=600)
    assert Ping.objects.filter(monitor=monitor).count() == 2
    assert statements(client, f"/ping/{monitor.ping_uuid}") == ["WITH"]


@pytest.mark.postgres
def test_a_rotated_ping_key_no_longer_reaches_a_known_monitor(client: Client, monitor: Monitor) -> None:
    old = f"/ping/{monitor.project.ping_key}/{monitor.slug}"
    assert client.get(old).status_code == 200
    project_update(project=monitor.project, ping_key="a-brand-new-ping-key")
    assert client.get(old).status_code == 404
    assert client.get(f"/ping/a-brand-new-ping-key/{monitor.slug}").status_code == 200
    assert Ping.objects.filter(monitor=monitor).count() == 2


@pytest.mark.postgres
def test_the_rate_limit_costs_no_statement(client: Client, monitor: Monitor, settings: Any) -> None:
    settings.PING_RATE_LIMIT_PER_MINUTE = 2
    client.get(f"/ping/{monitor.ping_uuid}")
    assert statements(client, f"/ping/{monitor.ping_uuid}") == ["WITH"]
    # Refused by the same single statement that would have stored it; the copy stays valid.
    assert statements(client, f"/ping/{monitor.ping_uuid}", status=429) == ["WITH"]
    assert Monitor.objects.values_list("pings_refused", flat=True).get(id=monitor.id) == 1


def test_counted_or_not_a_ping_sends_the_same_statements(
    client: Client, monitor: Monitor, settings: Any
) -> None:
    """SQLite (the locked path): the count rides on the monitor's own UPDATE; PostgreSQL: on
    the one statement."""
    client.get(f"/ping/{monitor.ping_uuid}")
    settings.PING_RATE_LIMIT_PER_MINUTE = 0
    unlimited = statements(client, f"/ping/{monitor.ping_uuid}")
    settings.PING_RATE_LIMIT_PER_MINUTE = 600
    limited = statements(client, f"/ping/{monitor.ping_uuid}")
    assert limited == unlimited
    # The warm-up ping and the limited one; the unlimited one was not counted.
    assert Monitor.objects.get(id=monitor.id).rate_count == 2
    assert Ping.objects.filter(monitor=monitor).count() == 3


@pytest.mark.postgres
def test_no_connection_health_check_per_request() -> None:
    """Django's health check is a SELECT 1 round trip before each request's first query."""
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is False


@pytest.mark.postgres
def test_a_stale_revision_writes_nothing(monitor: Monitor) -> None:
    now = timezone.now()
    written = write_ping_in_one_statement(
        lookup=by_uuid(monitor.ping_uuid),
        monitor_id=monitor.id,
        revision=monitor.revision - 1,
        changes={"last_ping_at": now},
        run=Run(monitor_id=monitor.id, status=RunStatus.SUCCESS),
        ping_row=ping_columns(
            monitor.id, PingInput(kind=PingKind.SUCCESS, body=PingBody(), method="GET"), now, keep_body=False
        ),
        rate=rate_window(now),
    )
    assert written.outcome is WriteOutcome.CONTENDED
    assert not runs(monitor)
    assert Ping.objects.count() == 0


@pytest.mark.postgres
def test_the_ping_statements_are_prepared_once_per_connection(client: Client, monitor: Monitor) -> None:
    """Parsed and planned once per connection and statement shape, then only executed: a ping
    shaped like the one before runs the statement that one prepared."""

    def prepared() -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
            return dict(cursor.fetchall())

    client.get(f"/ping/{monitor.ping_uuid}")
    first = prepared()
    assert any(statement.lstrip().startswith("SELECT m.") for statement in first), first
    # The second and third pings change the same columns: one statement, executed twice.
    client.get(f"/ping/{monitor.ping_uuid}")
    second = prepared()
    client.get(f"/ping/{monitor.ping_uuid}")
    third = prepared()
    assert set(third) == set(second)
    ran_again = [statement for statement in third if third[statement] == second[statement] + 1]
    assert len(ran_again) == 1
    assert ran_again[0].lstrip().startswith("WITH")
