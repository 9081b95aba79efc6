"""Prometheus metrics: `/metrics/<status_key>` and `/api/v1/metrics/` with an API key.

The output is read with prometheus_client's own parser, as a scraper would, while monitors
go through real transitions: real pings, the real sweeper, time moved by time_machine.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from rest_framework.test import APIClient

from monitors.api_keys import api_key_create
from monitors.models import Monitor, MonitorStatus, Project
from tests.api.timeline import LATE_AT, MISSED_AT, make_monitor, ping, run_sweeper
from tests.clock import Clock
from tests.conftest import make_client
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PER_MONITOR = [
    "vigil_monitor_up",
    "vigil_monitor_running",
    "vigil_monitor_status",
    "vigil_monitor_last_duration_seconds",
    "vigil_monitor_seconds_since_last_ping",
    "vigil_monitor_sweep_failures",
    "vigil_monitor_pings_refused",
]
TOTALS = [
    "vigil_monitors_total",
    *(f"vigil_monitors_{status}_total" for status in MonitorStatus.values),
    "vigil_monitors_sweeper_failing_total",
]
# Until a delivery worker ever reports, its age is left out.
DELIVERY = ["vigil_outbox_oldest_seconds", "vigil_outbox_backlog"]
# What Prometheus itself sends when it scrapes.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


class Scrape:
    """One parsed exposition."""

    def __init__(self, response: Any) -> None:
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == CONTENT_TYPE
        assert response["Cache-Control"] == "no-store"
        self.families = {
            family.name: family for family in text_string_to_metric_families(response.content.decode())
        }

    def by_monitor(self, name: str) -> dict[str, float]:
        """{slug: value} of a per-monitor family; a monitor without a sample is absent."""
        samples: list[Sample] = self.families[name].samples
        return {sample.labels["monitor"]: sample.value for sample in samples}

    def statuses(self) -> dict[str, str]:
        """{slug: the one status whose gauge is 1}."""
        ones: dict[str, list[str]] = {}
        for sample in self.families["vigil_monitor_status"].samples:
            if sample.value == 1:
                ones.setdefault(sample.labels["monitor"], []).append(sample.labels["status"])
        assert all(len(states) == 1 for states in ones.values()), ones
        return {slug: states[0] for slug, states in ones.items()}

    def total(self, name: str) -> float:
        [sample] = self.families[name].samples
        assert sample.labels == {}
        return sample.value

    def monitors(self) -> set[str]:
        """Every monitor slug any sample carries."""
        return {
            sample.labels["monitor"]
            for family in self.families.values()
            for sample in family.samples
            if "monitor" in sample.labels
        }


def scrape(client: Client, project: Project, query: str = "") -> Scrape:
    return Scrape(client.get(f"/metrics/{project.status_key}{query}"))


def scrape_api(project: Project, query: str = "") -> Scrape:
    return Scrape(make_client(project, read_only=True).get(f"/api/v1/metrics/{query}"))


# --- format ----------------------------------------------------------------------------------


def test_exposition_has_every_family_as_a_gauge(client: Client, project: Project) -> None:
    make_monitor(project)
    families = scrape(client, project).families
    assert list(families) == [*PER_MONITOR, *TOTALS, *DELIVERY]
    assert {family.type for family in families.values()} == {"gauge"}
    assert all(family.documentation for family in families.values())


def test_labels_carry_slug_name_and_tags(client: Client, project: Project) -> None:
    name = 'Nightly "db" \\ backup\nGröße ✓'
    make_monitor(project, slug="backup", name=name, tags=["db", "nightly"])
    [sample] = scrape(client, project).families["vigil_monitor_up"].samples
    assert sample.labels == {"monitor": "backup", "name": name, "tags": "db,nightly"}


def test_status_gauge_has_one_sample_per_status(client: Client, project: Project) -> None:
    make_monitor(project, slug="backup")
    samples = scrape(client, project).families["vigil_monitor_status"].samples
    assert {sample.labels["status"]: sample.value for sample in samples} == {
        "new": 1,
        "up": 0,
        "running": 0,
        "late": 0,
        "down": 0,
        "paused": 0,
    }


def test_the_scrape_prometheus_sends_is_answered(client: Client, project: Project) -> None:
    make_monitor(project, slug="backup")
    by_key = client.get(f"/metrics/{project.status_key}", HTTP_ACCEPT=PROMETHEUS_ACCEPT)
    by_api = make_client(project).get("/api/v1/metrics/", HTTP_ACCEPT=PROMETHEUS_ACCEPT)
    assert Scrape(by_key).monitors() == Scrape(by_api).monitors() == {"backup"}


def test_a_scraper_asking_only_for_openmetrics_gets_the_text_format(client: Client, project: Project) -> None:
    make_monitor(project, slug="backup")
    accept = "application/openmetrics-text;version=1.0.0"
    by_key = client.get(f"/metrics/{project.status_key}", HTTP_ACCEPT=accept)
    by_api = make_client(project).get("/api/v1/metrics/", HTTP_ACCEPT=accept)
    assert Scrape(by_key).monitors() == Scrape(by_api).monitors() == {"backup"}
    assert by_api["Content-Type"].startswith("text/plain")


# --- transitions -----------------------------------------------------------------------------


def test_up_follows_a_missed_job_and_its_recovery(client: Client, project: Project, clock: Clock) -> None:
    make_monitor(project, slug="steady")
    monitor = make_monitor(project, slug="backup")
    clock.at(10)
    ping(client, Monitor.objects.get(slug="steady"))
    first = scrape(client, project)
    assert first.by_monitor("vigil_monitor_up") == {"steady": 1, "backup": 1}
    assert first.statuses() == {"steady": "up", "backup": "new"}

    clock.at(LATE_AT)
    run_sweeper()
    late = scrape(client, project)
    assert late.by_monitor("vigil_monitor_up")["backup"] == 1
    assert late.statuses()["backup"] == "late"

    clock.at(MISSED_AT)
    run_sweeper()
    down = scrape(client, project)
    assert down.by_monitor("vigil_monitor_up") == {"steady": 1, "backup": 0}
    assert down.statuses()["backup"] == "down"
    assert down.total("vigil_monitors_down_total") == 1

    clock.at(MISSED_AT + 5)
    ping(client, monitor)
    recovered = scrape(client, project)
    assert recovered.by_monitor("vigil_monitor_up") == {"steady": 1, "backup": 1}
    assert recovered.statuses()["backup"] == "up"
    assert recovered.total("vigil_monitors_down_total") == 0


def test_running_and_down_are_independent(client: Client, project: Project, clock: Clock) -> None:
    monitor = make_monitor(project, slug="backup")
    clock.at(5)
    ping(client, monitor, "/start")
    started = scrape(client, project)
    assert started.by_monitor("vigil_monitor_running") == {"backup": 1}
    assert started.by_monitor("vigil_monitor_up") == {"backup": 1}
    assert started.statuses() == {"backup": "running"}

    clock.at(10)
    ping(client, monitor, "/fail")
    failed = scrape(client, project)
    assert failed.by_monitor("vigil_monitor_running") == {"backup": 0}
    assert failed.by_monitor("vigil_monitor_up") == {"backup": 0}

    # A run open on a down monitor: it is running, and still down.
    clock.at(20)
    ping(client, monitor, "/start")
    retrying = scrape(client, project)
    assert retrying.by_monitor("vigil_monitor_running") == {"backup": 1}
    assert retrying.by_monitor("vigil_monitor_up") == {"backup": 0}
    assert retrying.statuses() == {"backup": "down"}

    clock.at(30)
    ping(client, monitor)
    done = scrape(client, project)
    assert done.by_monitor("vigil_monitor_running") == {"backup": 0}
    assert done.by_monitor("vigil_monitor_up") == {"backup": 1}


def test_last_duration_is_the_last_finished_runs(client: Client, project: Project, clock: Clock) -> None:
    monitor = make_monitor(project, slug="backup")
    assert scrape(client, project).by_monitor("vigil_monitor_last_duration_seconds") == {}
    clock.at(10)
    ping(client, monitor, "/start")
    clock.at(25.5)
    ping(client, monitor, "/0")
    assert scrape(client, project).by_monitor("vigil_monitor_last_duration_seconds") == {"backup": 15.5}
    clock.at(30)
    ping(client, monitor, "/start")
    clock.at(32.25)
    ping(client, monitor, "/fail")
    assert scrape(client, project).by_monitor("vigil_monitor_last_duration_seconds") == {"backup": 2.25}
    # A finish with no start has no duration: none is reported rather than a made-up 0.
    clock.at(40)
    ping(client, monitor)
    assert scrape(client, project).by_monitor("vigil_monitor_last_duration_seconds") == {}


def test_seconds_since_last_ping(client: Client, project: Project, clock: Clock) -> None:
    monitor = make_monitor(project, slug="backup")
    make_monitor(project, slug="silent")
    assert scrape(client, project).by_monitor("vigil_monitor_seconds_since_last_ping") == {}
    clock.at(10)
    ping(client, monitor)
    clock.at(70)
    assert scrape(client, project).by_monitor("vigil_monitor_seconds_since_last_ping") == {"backup": 60}
    ping(client, monitor, "/start")
    clock.at(72.5)
    assert scrape(client, project).by_monitor("vigil_monitor_seconds_since_last_ping") == {"backup": 2.5}


def test_a_log_ping_is_not_a_sign_of_life(client: Client, project: Project, clock: Clock) -> None:
    monitor = make_monitor(project, slug="backup")
    clock.at(10)
    ping(client, monitor)
    clock.at(50)
    ping(client, monitor, "/log")
    clock.at(70)
    assert scrape(client, project).by_monitor("vigil_monitor_seconds_since_last_ping") == {"backup": 60}


def test_totals_count_monitors_by_status(client: Client, project: Project, clock: Clock) -> None:
    make_monitor(project)
    clock.at(LATE_AT)
    make_monitor(project)
    ping(client, make_monitor(project))
    ping(client, make_monitor(project), "/start")
    ping(client, make_monitor(project), "/start")
    ping(client, make_monitor(project), "/fail")
    paused = make_monitor(project)
    assert make_client(project).post(f"/api/v1/monitors/{paused.id}/pause/").status_code == 200
    run_sweeper()
    result = scrape(client, project)
    assert {name: result.total(name) for name in TOTALS} == {
        "vigil_monitors_total": 7,
        "vigil_monitors_new_total": 1,
        "vigil_monitors_up_total": 1,
        "vigil_monitors_running_total": 2,
        "vigil_monitors_late_total": 1,
        "vigil_monitors_down_total": 1,
        "vigil_monitors_paused_total": 1,
        "vigil_monitors_sweeper_failing_total": 0,
    }


def test_an_empty_project_has_zero_totals_and_no_monitor_samples(client: Client, project: Project) -> None:
    result = scrape(client, project)
    assert result.monitors() == set()
    assert {result.total(name) for name in TOTALS} == {0}


# --- the API endpoint ------------------------------------------------------------------------


def test_api_endpoint_reports_what_the_status_key_endpoint_does(
    client: Client, project: Project, clock: Clock
) -> None:
    monitor = make_monitor(project, slug="backup")
    make_monitor(project, slug="idle")
    clock.at(10)
    ping(client, monitor, "/start")
    clock.at(12)
    ping(client, monitor, "/fail")
    clock.at(20)
    by_key, by_api = scrape(client, project), scrape_api(project)
    for name in PER_MONITOR:
        assert by_api.families[name].samples == by_key.families[name].samples, name
    for name in TOTALS:
        assert by_api.total(name) == by_key.total(name), name
    assert by_api.by_monitor("vigil_monitor_up") == {"backup": 0, "idle": 1}
    assert by_api.by_monitor("vigil_monitor_last_duration_seconds") == {"backup": 2}
    assert by_api.by_monitor("vigil_monitor_seconds_since_last_ping") == {"backup": 8}


def test_api_endpoint_needs_a_key(project: Project) -> None:
    response = APIClient().get("/api/v1/metrics/")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


# --- ?tag= -----------------------------------------------------------------------------------


@pytest.mark.parametrize("by_api", [False, True], ids=["status-key", "api"])
def test_tag_narrows_metrics(client: Client, project: Project, clock: Clock, by_api: bool) -> None:
    database = make_monitor(project, slug="database", tags=["db"])
    make_monitor(project, slug="web", tags=["web"])
    make_monitor(project, slug="replica", tags=["db-replica"])
    clock.at(10)
    ping(client, database, "/fail")
    result = scrape_api(project, "?tag=db") if by_api else scrape(client, project, "?tag=db")
    assert result.monitors() == {"database"}
    assert result.by_monitor("vigil_monitor_up") == {"database": 0}
    assert result.total("vigil_monitors_total") == 1
    assert result.total("vigil_monitors_down_total") == 1
    empty = scrape_api(project, "?tag=none") if by_api else scrape(client, project, "?tag=none")
    assert empty.total("vigil_monitors_total") == 0


# --- keys and isolation ----------------------------------------------------------------------


def test_unknown_status_key_is_404(client: Client, project: Project) -> None:
    make_monitor(project)
    _, api_key = api_key_create(project=project, name="k")
    for secret in ("not-a-status-key", project.badge_key, project.ping_key, api_key):
        assert client.get(f"/metrics/{secret}").status_code == 404, secret


def test_another_projects_monitors_never_appear(client: Client, project: Project, clock: Clock) -> None:
    other = ProjectFactory.create()
    theirs = make_monitor(other, slug="theirs", name="Theirs", tags=["db"])
    make_monitor(other, slug="shared", name="Their shared", tags=["db"])
    make_monitor(project, slug="mine", name="Mine", tags=["db"])
    make_monitor(project, slug="shared", name="My shared", tags=["db"])
    clock.at(10)
    ping(client, theirs, "/fail")
    for result in (
        scrape(client, project),
        scrape(client, project, "?tag=db"),
        scrape_api(project),
        scrape_api(project, "?tag=db"),
    ):
        assert result.monitors() == {"mine", "shared"}
        names = {sample.labels["name"] for sample in result.families["vigil_monitor_up"].samples}
        assert names == {"Mine", "My shared"}
        assert result.total("vigil_monitors_total") == 2
        assert result.total("vigil_monitors_down_total") == 0
    assert scrape_api(other).by_monitor("vigil_monitor_up") == {"theirs": 0, "shared": 1}
