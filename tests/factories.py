"""factory_boy factories for the models tests build on."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from monitors.models import Membership, Monitor, Project
from monitors.roles import Role
from monitors.state_rows import STATE_COLUMNS, set_columns, state_init

PASSWORD = "correct horse battery"


class ProjectFactory(factory.django.DjangoModelFactory[Project]):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")


class MonitorFactory(factory.django.DjangoModelFactory[Monitor]):
    """A monitor whose first window starts now, as `monitor_create` would open it."""

    class Meta:
        model = Monitor

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Job {n}")
    slug = factory.Sequence(lambda n: f"job-{n}")
    interval_seconds = 3600
    grace_seconds = 300

    @classmethod
    def _create(cls, model_class: type[Monitor], *args: Any, **kwargs: Any) -> Monitor:
        monitor = model_class(**kwargs)
        monitor.created_at = timezone.now()
        state_init(monitor, now=monitor.created_at)
        # State a test asks for explicitly (e.g. a status to filter on) wins over the planned one.
        set_columns(monitor, {name: value for name, value in kwargs.items() if name in STATE_COLUMNS})
        monitor.save()
        return monitor


class UserFactory(factory.django.DjangoModelFactory[User]):
    """A user named by e-mail, as sign-up makes them; the password is `PASSWORD`."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.SelfAttribute("email")
    password = factory.django.Password(PASSWORD)


def member(project: Project, *, role: str = Role.OWNER, **fields: Any) -> User:
    """A new user who is a member of `project`, in `role` (owner unless told)."""
    user = UserFactory.create(**fields)
    Membership.objects.create(project=project, user=user, role=role)
    return user
