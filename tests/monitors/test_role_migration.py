"""The migration from the owner flag to roles: owners stay owners, every other member becomes an
admin (before roles every member could change everything, so nobody loses a right)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("monitors", "0006_flapping")]
AFTER = [("monitors", "0007_membership_roles")]


@pytest.mark.django_db(transaction=True)
def test_owners_stay_owners_and_other_members_become_admins() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("auth", "User")
    project = old.get_model("monitors", "Project").objects.create(name="Shop", ping_key="p" * 22)
    membership = old.get_model("monitors", "Membership")
    membership.objects.create(project=project, user=user.objects.create(username="boss"), is_owner=True)
    membership.objects.create(project=project, user=user.objects.create(username="dev"), is_owner=False)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("monitors", "Membership")
        roles = dict(new.objects.values_list("user__username", "role"))
        assert roles == {"boss": "owner", "dev": "admin"}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
