"""`/badge/<badge_key>/<slug>.svg` and `/badge/<badge_key>.svg` (CONTRACT §5).

Every badge is parsed as XML, as a README renderer would, while its monitors go through real
transitions: real pings, the real sweeper, time moved by time_machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree

import pytest
from django.test import Client

from monitors.api_keys import api_key_create
from monitors.badges import GREEN, GREY, MAX_LABEL_LENGTH, ORANGE, RED
from monitors.models import Monitor, Project
from tests.api.timeline import LATE_AT, MISSED_AT, make_monitor, ping, run_sweeper
from tests.clock import Clock
from tests.conftest import make_client
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class Parsed:
    label: str
    message: str
    color: str


def parse(content: bytes) -> Parsed:
    """The badge's label, message and colour, read from the parsed SVG document."""
    root = ElementTree.fromstring(content)
    assert root.tag == f"{SVG}svg"
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text is not None
    label, message = title.text.rsplit(": ", 1)
    assert root.get("aria-label") == title.text
    # Each text is drawn twice: a shadow, then the text itself.
    assert [text.text for text in root.iter(f"{SVG}text")] == [label, label, message, message]
    label_rect, message_rect, _shine = root.findall(f"{SVG}g[@clip-path]/{SVG}rect")
    assert int(label_rect.get("width", "")) + int(message_rect.get("width", "")) == int(root.get("width", ""))
    return Parsed(label, message, message_rect.get("fill", ""))


def badge(client: Client, url: str) -> Parsed:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "image/svg+xml"
    return parse(response.content)


def monitor_badge(client: Client, monitor: Monitor) -> Parsed:
    return badge(client, f"/badge/{monitor.project.badge_key}/{monitor.slug}.svg")


def project_badge(client: Client, project: Project, query: str = "") -> Parsed:
    return badge(client, f"/badge/{project.badge_key}.svg{query}")


# --- one monitor -----------------------------------------------------------------------------


def test_monitor_badge_follows_a_missed_job_and_its_recovery(
    client: Client, project: Project, clock: Clock
) -> None:
    monitor = make_monitor(project, name="Backup")
    assert monitor_badge(client, monitor) == Parsed("Backup", "new", GREY)
    clock.at(LATE_AT)
    run_sweeper()
    assert monitor_badge(client, monitor) == Parsed("Backup", "late", ORANGE)
    clock.at(MISSED_AT)
    run_sweeper()
    assert monitor_badge(client, monitor) == Parsed("Backup", "down", RED)
    clock.at(MISSED_AT + 5)
    ping(client, monitor)
    assert monitor_badge(client, monitor) == Parsed("Backup", "up", GREEN)


def test_monitor_badge_follows_a_failed_run_and_its_recovery(
    client: Client, project: Project, clock: Clock
) -> None:
    monitor = make_monitor(project, name="Backup")
    clock.at(5)
    ping(client, monitor, "/start")
    assert monitor_badge(client, monitor) == Parsed("Backup", "up", GREEN)
    clock.at(10)
    ping(client, monitor, "/fail")
    assert monitor_badge(client, monitor) == Parsed("Backup", "down", RED)
    clock.at(20)
    ping(client, monitor, "/start")
    assert monitor_badge(client, monitor).message == "down"
    clock.at(30)
    ping(client, monitor, "/0")
    assert monitor_badge(client, monitor) == Parsed("Backup", "up", GREEN)


def test_paused_monitor_badge(client: Client, project: Project) -> None:
    monitor = make_monitor(project, name="Backup")
    assert make_client(project).post(f"/api/v1/monitors/{monitor.id}/pause/").status_code == 200
    assert monitor_badge(client, monitor) == Parsed("Backup", "paused", GREY)


# --- the whole project -----------------------------------------------------------------------


def test_project_badge_shows_its_worst_monitor(client: Client, project: Project, clock: Clock) -> None:
    name = project.name
    assert project_badge(client, project) == Parsed(name, "no monitors", GREY)
    late = make_monitor(project)
    clock.at(LATE_AT - 10)
    up = make_monitor(project)
    assert project_badge(client, project) == Parsed(name, "new", GREY)
    ping(client, up)
    assert project_badge(client, project) == Parsed(name, "up", GREEN)
    clock.at(LATE_AT)
    run_sweeper()
    assert project_badge(client, project) == Parsed(name, "late", ORANGE)
    ping(client, up, "/fail")
    assert project_badge(client, project) == Parsed(name, "down", RED)
    ping(client, up)
    ping(client, late)
    assert project_badge(client, project) == Parsed(name, "up", GREEN)


def test_idle_monitors_do_not_hide_a_healthy_project(client: Client, project: Project, clock: Clock) -> None:
    up = make_monitor(project)
    paused = make_monitor(project)
    make_monitor(project)
    clock.at(10)
    ping(client, up)
    assert make_client(project).post(f"/api/v1/monitors/{paused.id}/pause/").status_code == 200
    assert project_badge(client, project).message == "up"


def test_project_badge_tag_narrows_and_labels(client: Client, project: Project, clock: Clock) -> None:
    database = make_monitor(project, tags=["db"])
    web = make_monitor(project, tags=["web"])
    make_monitor(project, tags=["web-extra"])
    clock.at(10)
    ping(client, database, "/fail")
    ping(client, web)
    assert project_badge(client, project).message == "down"
    assert project_badge(client, project, "?tag=web") == Parsed("web", "up", GREEN)
    assert project_badge(client, project, "?tag=db") == Parsed("db", "down", RED)
    assert project_badge(client, project, "?tag=none") == Parsed("none", "no monitors", GREY)


# --- text that XML must carry ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("<script>alert(\"x\")</script> & 'co'", "<script>alert(\"x\")</script> & 'co'"),
        ("Größe ✓ 夜間バックアップ 🚀", "Größe ✓ 夜間バックアップ 🚀"),
        ("bell\x07 vt\x0b ff\x0c end", "bell vt ff end"),
        ("x" * 200, "x" * (MAX_LABEL_LENGTH - 1) + "…"),
    ],
    ids=["markup", "non-ascii", "control-characters", "long"],
)
def test_any_name_makes_a_well_formed_badge(client: Client, project: Project, name: str, label: str) -> None:
    monitor = make_monitor(project, name=name)
    assert monitor_badge(client, monitor) == Parsed(label, "new", GREY)


def test_a_name_from_the_api_makes_a_well_formed_badge(client: Client, project: Project) -> None:
    response = make_client(project).post(
        "/api/v1/monitors/", {"name": "ends \x1b[0m\x01 <&>", "slug": "job"}, format="json"
    )
    assert response.status_code == 201
    assert badge(client, f"/badge/{project.badge_key}/job.svg").label == "ends [0m <&>"


@pytest.mark.parametrize("tag", ["<b>&amp;", "\x01db\x02", "ü"])
def test_any_tag_makes_a_well_formed_badge(client: Client, project: Project, tag: str) -> None:
    response = client.get(f"/badge/{project.badge_key}.svg", {"tag": tag})
    assert response.status_code == 200
    assert parse(response.content).label == tag.replace("\x01", "").replace("\x02", "")


# --- keys ------------------------------------------------------------------------------------


def test_unknown_badge_key_or_slug_is_404(client: Client, project: Project) -> None:
    monitor = make_monitor(project)
    assert client.get(f"/badge/not-a-badge-key/{monitor.slug}.svg").status_code == 404
    assert client.get("/badge/not-a-badge-key.svg").status_code == 404
    assert client.get(f"/badge/{project.badge_key}/no-such-slug.svg").status_code == 404


def test_another_projects_slug_is_404(client: Client, project: Project) -> None:
    theirs = make_monitor(ProjectFactory.create(), slug="theirs")
    assert client.get(f"/badge/{project.badge_key}/{theirs.slug}.svg").status_code == 404
    assert monitor_badge(client, theirs).label == theirs.name


def test_another_projects_monitors_do_not_color_this_badge(
    client: Client, project: Project, clock: Clock
) -> None:
    theirs = make_monitor(ProjectFactory.create())
    mine = make_monitor(project)
    clock.at(10)
    ping(client, theirs, "/fail")
    ping(client, mine)
    assert project_badge(client, project).message == "up"


def test_status_key_is_not_a_badge_key(client: Client, project: Project) -> None:
    monitor = make_monitor(project)
    _, api_key = api_key_create(project=project, name="k")
    for secret in (project.status_key, project.ping_key, api_key):
        assert client.get(f"/badge/{secret}/{monitor.slug}.svg").status_code == 404, secret
        assert client.get(f"/badge/{secret}.svg").status_code == 404, secret


def test_badge_key_is_not_a_status_or_metrics_key(client: Client, project: Project) -> None:
    make_monitor(project)
    assert client.get(f"/status/{project.badge_key}/").status_code == 404
    assert client.get(f"/metrics/{project.badge_key}").status_code == 404


# --- HTTP ------------------------------------------------------------------------------------


def test_badges_are_cached_briefly_and_read_only(client: Client, project: Project) -> None:
    monitor = make_monitor(project)
    for url in (f"/badge/{project.badge_key}/{monitor.slug}.svg", f"/badge/{project.badge_key}.svg"):
        assert client.get(url)["Cache-Control"] == "public, max-age=60"
        assert client.head(url).status_code == 200
        assert client.post(url).status_code == 405
