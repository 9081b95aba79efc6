"""Fixtures for the web UI's view tests: a member of `project`, signed in, and a stranger's project."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from monitors.models import Monitor, Project
from tests.factories import MonitorFactory, ProjectFactory, member


@pytest.fixture
def user(project: Project) -> User:
    return member(project)


@pytest.fixture
def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def strangers_monitor(db: None) -> Monitor:
    """A monitor in a project the signed-in user is no member of."""
    return MonitorFactory.create(project=ProjectFactory.create(name="Someone else's"), name="Their job")
