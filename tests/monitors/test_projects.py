"""Projects: the rule for a name, creation with its owner (renaming: tests/api/test_project_update.py)."""

from __future__ import annotations

import pytest

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
    assert Membership.objects.get(project=project).is_owner


def test_a_refused_name_creates_nothing() -> None:
    with pytest.raises(ProjectError):
        project_create(name=" ", owner=UserFactory.create())
    assert not Project.objects.exists()


def test_the_api_applies_the_same_name_rule(project: Project) -> None:
    from monitors.serializers import ProjectUpdateSerializer

    refused = ProjectUpdateSerializer(data={"name": "bell\x07"})
    assert not refused.is_valid()
    assert refused.errors["name"] == ["A project name cannot hold control characters."]
