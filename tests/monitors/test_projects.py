"""Projects: the rule for a name, creation with its owner (renaming: tests/api/test_project_update.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from monitors.models import Membership, Project
from monitors.projects import ProjectError, project_create, validate_project_name
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "tab\there", "nul\x00"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(ProjectError) as refused:
        validate_project_name(name)
    assert refused.value.field == "name"


def test_names_are_stored_without_surrounding_space() -> None:
    assert validate_project_name("  Ops  ") == "Ops"
    assert validate_project_name("Équipe données 📊") == "Équipe données 📊"


def test_a_new_project_has_its_creator_as_owner() -> None:
    user = UserFactory.create()
    project = project_create(name="Ops", owner=user)
    assert Membership.objects.get(project=project).user == user
    assert Membership.objects.get(project=project).role == "owner"


def test_a_refused_name_creates_nothing() -> None:
    with pytest.raises(ProjectError):
        project_create(name=" ", owner=UserFactory.create())
    assert not Project.objects.exists()


def test_the_api_applies_the_same_name_rule(project: Project) -> None:
    from monitors.serializers import ProjectUpdateSerializer

    refused = ProjectUpdateSerializer(data={"name": "bell\x07"})
    assert not refused.is_valid()
    assert refused.errors["name"] == ["A project name cannot hold control characters."]


def test_vigil_bootstrap_makes_its_project_the_same_way() -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    call_command("vigil_bootstrap", "--email", "ops@example.com", "--password", "pw", stdout=StringIO())
    membership = Membership.objects.select_related("project", "user").get(user__email="ops@example.com")
    assert membership.is_owner
    assert membership.project.name == "ops's project"
    with pytest.raises(CommandError, match=r"--project: A project name cannot hold control characters\."):
        call_command(
            "vigil_bootstrap",
            "--email",
            "dev@example.com",
            "--password",
            "pw",
            "--project",
            "a\x07",
            stdout=StringIO(),
        )
    assert not User.objects.filter(email="dev@example.com").exists()
