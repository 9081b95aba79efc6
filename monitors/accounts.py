"""Writes to accounts: a person signing up gets a user and a project of their own."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from monitors.models import Project
from monitors.projects import default_project_name, project_create


def email_taken(email: str) -> bool:
    """Sign-up names users by e-mail, so an address is taken as an e-mail or as a username."""
    users = User.objects
    return users.filter(email__iexact=email).exists() or users.filter(username__iexact=email).exists()


def account_create(*, email: str, password: str) -> tuple[User, Project]:
    """The user (username = e-mail, as `vigil_bootstrap` makes them) and their own project."""
    with transaction.atomic():
        user = User.objects.create_user(username=email, email=email, password=password)
        project = project_create(name=default_project_name(email), owner=user)
    return user, project
