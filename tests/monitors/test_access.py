"""monitors.access: what a signed-in user may see (their projects, else 404) and the current project."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.backends.db import SessionStore
from django.http import Http404, HttpRequest
from django.test import RequestFactory

from monitors.access import (
    REQUEST_ATTRIBUTE,
    SESSION_PROJECT_KEY,
    current_access,
    monitor_access,
    project_access,
)
from monitors.models import Membership, Project
from tests.factories import MonitorFactory, ProjectFactory, member

pytestmark = pytest.mark.django_db


def request_of(user: User | AnonymousUser) -> HttpRequest:
    request = RequestFactory().get("/")
    request.user = user
    request.session = SessionStore()
    return request


def test_a_member_gets_the_project_and_it_becomes_current(project: Project) -> None:
    request = request_of(member(project))
    access = project_access(request, project.id)
    assert access.project == project
    assert access.can_change
    assert request.session[SESSION_PROJECT_KEY] == project.id
    assert getattr(request, REQUEST_ATTRIBUTE) is access


@pytest.mark.parametrize("project_id", ["strangers", 0, -1, 2**63, 2**70])
def test_anything_but_my_projects_is_404(project: Project, project_id: object) -> None:
    stranger = ProjectFactory.create()
    request = request_of(member(project))
    with pytest.raises(Http404):
        project_access(request, stranger.id if project_id == "strangers" else project_id)  # type: ignore[arg-type]
    assert SESSION_PROJECT_KEY not in request.session


def test_anonymous_users_get_nothing(project: Project) -> None:
    with pytest.raises(Http404):
        project_access(request_of(AnonymousUser()), project.id)


def test_the_current_project_is_the_sessions_else_the_first(project: Project) -> None:
    user = member(project)
    later = ProjectFactory.create()
    Membership.objects.create(project=later, user=user)
    request = request_of(user)
    access = current_access(request)
    assert access is not None
    assert access.project == project
    request.session[SESSION_PROJECT_KEY] = later.id
    access = current_access(request)
    assert access is not None
    assert access.project == later
    assert [p.id for p in access.projects] == sorted(
        [project.id, later.id], key=lambda i: Project.objects.get(id=i).name
    )


def test_a_session_pointing_at_a_project_i_left_falls_back(project: Project) -> None:
    user = member(project)
    gone = ProjectFactory.create()
    request = request_of(user)
    request.session[SESSION_PROJECT_KEY] = gone.id
    access = current_access(request)
    assert access is not None
    assert access.project == project


def test_no_project_at_all_is_none(db: None) -> None:
    from tests.factories import UserFactory

    assert current_access(request_of(UserFactory.create())) is None


def test_monitor_access_checks_the_monitors_project(project: Project) -> None:
    mine = MonitorFactory.create(project=project)
    theirs = MonitorFactory.create()
    request = request_of(member(project))
    access, monitor = monitor_access(request, mine.id)
    assert (access.project, monitor) == (project, mine)
    assert request.session[SESSION_PROJECT_KEY] == project.id
    for monitor_id in (theirs.id, 2**63):
        with pytest.raises(Http404):
            monitor_access(request, monitor_id)
