"""Projects in the web UI: list, create, rename (settings); reserved pages; 404 for strangers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from monitors.models import Membership, Monitor, Project
from monitors.roles import Role
from tests.factories import ProjectFactory, member

pytestmark = pytest.mark.django_db
PROJECT_PAGES = ("settings/", "incidents/", "channels/")


@pytest.mark.parametrize("path", ["/projects/", *(f"/projects/1/{page}" for page in PROJECT_PAGES)])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_the_list_shows_only_my_projects(
    signed_in: Client, project: Project, strangers_monitor: Monitor
) -> None:
    page = signed_in.get("/projects/").content.decode()
    assert project.name in page
    assert "Someone else's" not in page


def test_creating_a_project_makes_me_its_owner_and_opens_it(signed_in: Client, user: User) -> None:
    response = signed_in.post("/projects/", {"name": "  Payments team  "})
    created = Project.objects.get(name="Payments team")
    assert response["Location"] == f"/projects/{created.id}/"
    assert Membership.objects.get(project=created).user == user
    assert Membership.objects.get(project=created).role == "owner"
    page = signed_in.get(response["Location"]).content.decode()
    assert "Project “Payments team” created." in page
    assert signed_in.get("/").context["access"].project == created


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "This field is required."),
        ("   ", "A name is required."),
        ("x" * 201, "at most 200 characters"),
        ("bad\x07name", "control characters"),
        ("nul\x00name", "Null characters are not allowed."),
    ],
)
def test_a_bad_project_name_is_a_field_error_and_creates_nothing(
    signed_in: Client, name: str, message: str
) -> None:
    before = Project.objects.count()
    response = signed_in.post("/projects/", {"name": name})
    assert response.status_code == 200
    assert message.lower() in " ".join(response.context["form"].errors["name"]).lower()
    assert Project.objects.count() == before


def test_renaming_a_project(signed_in: Client, project: Project) -> None:
    response = signed_in.post(f"/projects/{project.id}/settings/", {"name": "Renamed"})
    assert response["Location"] == f"/projects/{project.id}/settings/"
    project.refresh_from_db()
    assert project.name == "Renamed"
    assert "Project renamed." in signed_in.get(response["Location"]).content.decode()


def test_a_bad_new_name_is_a_field_error_and_keeps_the_old_one(signed_in: Client, project: Project) -> None:
    old = project.name
    response = signed_in.post(f"/projects/{project.id}/settings/", {"name": "  "})
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["A name is required."]
    project.refresh_from_db()
    assert project.name == old


@pytest.mark.parametrize("page", PROJECT_PAGES)
def test_another_projects_pages_are_not_found(
    signed_in: Client, strangers_monitor: Monitor, page: str
) -> None:
    project = strangers_monitor.project
    assert signed_in.get(f"/projects/{project.id}/{page}").status_code == 404
    assert signed_in.post(f"/projects/{project.id}/{page}", {"name": "Mine now"}).status_code in {404, 405}
    project.refresh_from_db()
    assert project.name == "Someone else's"


@pytest.mark.parametrize("page", PROJECT_PAGES)
def test_a_members_project_pages_answer(signed_in: Client, project: Project, page: str) -> None:
    response = signed_in.get(f"/projects/{project.id}/{page}")
    assert response.status_code == 200
    assert response.context["nav_section"] == page.rstrip("/")


def test_someone_who_may_not_change_the_project_gets_403_and_nothing_changes(
    client: Client, project: Project
) -> None:
    client.force_login(member(project, role=Role.MEMBER))
    signed_in = client
    old = project.name
    response = signed_in.post(f"/projects/{project.id}/settings/", {"name": "Renamed"})
    assert response.status_code == 403
    assert "As member of this project you may not change the project" in response.content.decode()
    project.refresh_from_db()
    assert project.name == old
    assert "Rename project" not in signed_in.get(f"/projects/{project.id}/settings/").content.decode()


def test_the_project_switcher_lists_my_projects(signed_in: Client, project: Project, user: User) -> None:
    second = ProjectFactory.create(name="Second team")
    Membership.objects.create(project=second, user=user)
    page = signed_in.get("/").content.decode()
    assert f'<a href="/projects/{project.id}/" aria-current="true">{project.name}</a>' in page
    assert f'<a href="/projects/{second.id}/">Second team</a>' in page
