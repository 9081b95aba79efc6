"""Schemathesis against the live schema, in process: no 5xx, and every answer matches the schema.

Each operation gets a few generated requests (valid and invalid) with a read-write key of a
project that has one object of every kind; generated ids are pointed at those objects, so
the operations do their real work instead of answering 404 every time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import reverse
from hypothesis import HealthCheck, settings
from schemathesis import checks

from monitors.api_keys import api_key_create
from monitors.models import Project
from tests.api.builders import (
    make_attempt,
    make_channel,
    make_incident,
    make_notification,
    make_ping,
    make_run,
)
from tests.factories import MonitorFactory
from triggers.serializers import ClaimQuerySerializer

schema: Any = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
# Revoking the test's own key by a generated id would turn the rest of the run into 401s.
schema = schema.exclude(method="DELETE", path_regex=r"^/api/v1/keys/")

EXPLORE = os.environ.get("SCHEMATHESIS_EXPLORE") == "1"
# The agent's long poll: with nothing pending it holds each answer for `wait` seconds.
AGENT_CLAIM = reverse("agent-claim")

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture(autouse=True)
def keep_test_connection() -> Iterator[None]:
    """Schemathesis calls the WSGI app directly, so Django's request signals fire.

    `close_old_connections` would close the test's connection, which sits inside the test's
    transaction; Django's own test client disconnects it the same way.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(project: Project) -> dict[str, Any]:
    """A key, and the id to use for each kind of object a path can name."""
    monitor = MonitorFactory.create(project=project, tags=["db"])
    make_run(monitor, meta={"records": 3}, log="done")
    make_ping(monitor)
    # A loopback URL is refused by the SSRF guard at once: a test send never leaves the machine.
    channel = make_channel(project, config={"url": "http://127.0.0.1:9/hook"})
    incident = make_incident(monitor, kinds=["missed", "failed"])
    make_attempt(make_notification(incident, channel), status_code=500, error="oops", latency_ms=5)
    window = project.maintenance_windows.create(cron_expression="0 3 * * *", duration_seconds=600)
    spare_key, _ = api_key_create(project=project, name="spare")
    _, raw_key = api_key_create(project=project, name="schemathesis")
    return {
        "headers": {"Authorization": f"Bearer {raw_key}"},
        "ids": {
            "monitors": monitor.id,
            "channels": channel.id,
            "incidents": incident.id,
            "maintenance": window.id,
            "keys": spare_key.id,
        },
    }


@pytest.mark.django_db
@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=100 if EXPLORE else 10,
    deadline=None,
    # `make test` replays the same examples every run, so CI's verdict does not depend on
    # the draw; SCHEMATHESIS_EXPLORE=1 draws new ones (and more of them) to hunt for bugs.
    derandomize=not EXPLORE,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_conforms_to_its_schema(case: Any, seeded: dict[str, Any]) -> None:
    generated_id = (case.path_parameters or {}).get("id")
    # Numeric ids are aimed at the seeded objects; malformed ones are left to probe the 404s.
    if isinstance(generated_id, int) or (isinstance(generated_id, str) and generated_id.isdigit()):
        collection = case.path.removeprefix("/api/v1/").split("/")[0]
        case.path_parameters["id"] = seeded["ids"][collection]
    if case.path == AGENT_CLAIM:
        case.query = answered_at_once(case.query)
    case.call_and_validate(headers=seeded["headers"], checks=CHECKS)


def answered_at_once(query: dict[str, Any] | None) -> dict[str, Any]:
    """The claim's query with a wait it accepts (absent means 25 s) set to 0: every example is
    answered at once instead of after up to 25 s (2.5 minutes of each pass went there). A wait
    it refuses is kept, to probe the 400."""
    query = dict(query or {})
    if ClaimQuerySerializer(data=query).is_valid():
        query["wait"] = 0
    return query
