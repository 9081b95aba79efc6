"""Who may see and change what in the web UI. Every UI view resolves its project or monitor here.

A user sees only the projects they are a member of; anything else answers 404, so a page
never tells a stranger that a project or monitor exists. What a member may change is decided
by their role in `monitors.permissions`, which the services also ask: `ProjectAccess.can(…)`
and `require(…)` only let a page hide what the service would refuse anyway.

The resolved access is kept on the request for the page header (`context_processors`), and
the project becomes the session's current project, which `/` shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser, User
from django.http import Http404, HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from monitors.models import MAX_ID, Membership, Monitor, Project
from monitors.permissions import Permission, refusal, role_allows
from monitors.roles import Role
from monitors.selectors import projects_of_user

SESSION_PROJECT_KEY = "vigil_project_id"
REQUEST_ATTRIBUTE = "vigil_access"

View = TypeVar("View", bound=Callable[..., HttpResponse])


@dataclass
class ProjectAccess:
    """A signed-in user's membership of one project, as the UI acts on it."""

    user: User
    membership: Membership
    _projects: list[Project] | None = field(default=None, repr=False)

    @property
    def project(self) -> Project:
        return self.membership.project

    @property
    def role(self) -> str:
        return self.membership.role

    def can(self, permission: Permission) -> bool:
        return role_allows(self.membership.role, permission)

    def require(self, permission: Permission) -> None:
        """For views that write: 403 (in the site's style) before the form is even read."""
        if not self.can(permission):
            raise refusal(permission, self.membership.role)

    @property
    def can_change(self) -> bool:
        """May this user change monitors and incidents (members and up)?"""
        return self.can(Permission.CHANGE_MONITORS)

    @property
    def can_admin(self) -> bool:
        """Channels, API keys, maintenance, settings and members (admins and owners)."""
        return self.can(Permission.CHANGE_PROJECT)

    @property
    def is_owner(self) -> bool:
        return self.membership.role == Role.OWNER

    def require_change(self) -> None:
        """For views that change monitors or incidents: 403 when the user may only look."""
        self.require(Permission.CHANGE_MONITORS)

    @property
    def projects(self) -> list[Project]:
        """Every project of the user, for the project switcher (read once per request)."""
        if self._projects is None:
            self._projects = list(projects_of_user(user=self.user))
        return self._projects


def signed_in(view: View) -> View:
    """`login_required`, except that an htmx request (a poll after the session ended) is sent
    to the sign-in page as a whole page instead of having it swapped into a fragment."""

    guarded = login_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated and getattr(request, "htmx", False):
            return HttpResponseClientRedirect(f"{settings.LOGIN_URL}?next={quote(request.path)}")
        return guarded(request, *args, **kwargs)

    return cast(View, wrapper)


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it, for views that read `request.htmx`."""

    htmx: HtmxDetails


def signed_in_user(request: HttpRequest) -> User:
    """The request's user, for views behind `signed_in`."""
    user = request.user
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        # Views reach here only through `signed_in`; a stranger still gets nothing.
        raise Http404
    return cast(User, user)


def _remember(request: HttpRequest, access: ProjectAccess) -> ProjectAccess:
    setattr(request, REQUEST_ATTRIBUTE, access)
    if request.session.get(SESSION_PROJECT_KEY) != access.project.id:
        request.session[SESSION_PROJECT_KEY] = access.project.id
    return access


def _membership(user: User, project_id: object) -> Membership | None:
    if not isinstance(project_id, int) or not 0 < project_id <= MAX_ID:
        return None
    return Membership.objects.select_related("project").filter(user=user, project_id=project_id).first()


def project_access(request: HttpRequest, project_id: int) -> ProjectAccess:
    """The user's access to project `project_id`, or 404; it becomes the current project."""
    user = signed_in_user(request)
    membership = _membership(user, project_id)
    if membership is None:
        raise Http404("No such project.")
    return _remember(request, ProjectAccess(user=user, membership=membership))


def current_access(request: HttpRequest) -> ProjectAccess | None:
    """The session's current project, else the user's first one; None when they have none."""
    user = signed_in_user(request)
    membership = _membership(user, request.session.get(SESSION_PROJECT_KEY))
    if membership is None:
        membership = (
            Membership.objects.select_related("project").filter(user=user).order_by("project_id").first()
        )
    if membership is None:
        return None
    return _remember(request, ProjectAccess(user=user, membership=membership))


def monitor_access(request: HttpRequest, monitor_id: int) -> tuple[ProjectAccess, Monitor]:
    """A monitor of one of the user's projects and the access to that project, or 404."""
    user = signed_in_user(request)
    if not 0 < monitor_id <= MAX_ID:
        raise Http404("No such monitor.")
    monitor = (
        Monitor.objects.select_related("project")
        .filter(id=monitor_id, project__membership__user=user)
        .first()
    )
    if monitor is None:
        raise Http404("No such monitor.")
    membership = Membership.objects.get(user=user, project_id=monitor.project_id)
    membership.project = monitor.project
    return _remember(request, ProjectAccess(user=user, membership=membership)), monitor
