"""A key's prefix is how it begins ("vgl_2b1c5d16"); keys made before that still work."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from monitors.api_keys import api_key_create, api_key_find
from monitors.models import ApiKey
from tests.factories import ProjectFactory

BEFORE = [("monitors", "0003_monitor_healthchecks_options")]
AFTER = [("monitors", "0004_api_key_prefix_as_typed")]


@pytest.mark.django_db
def test_a_new_keys_prefix_is_how_it_begins() -> None:
    api_key, raw_key = api_key_create(project=ProjectFactory.create(), name="ci")
    assert raw_key.startswith(api_key.prefix + "_")
    assert api_key.prefix.startswith("vgl_")
    assert str(api_key) == f"ci ({api_key.prefix}…)"
    assert api_key_find(raw_key) == api_key
    assert api_key_find(api_key.prefix + "_wrong") is None


@pytest.mark.django_db(transaction=True)
def test_keys_stored_with_the_old_prefix_are_migrated_and_keep_working() -> None:
    project = ProjectFactory.create()
    raw_key = "vgl_0a1b2c3d_" + "s" * 43
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        old_model = executor.loader.project_state(BEFORE).apps.get_model("monitors", "ApiKey")
        old_model.objects.create(
            project_id=project.id,
            name="old",
            prefix="0a1b2c3d",
            key_hash=hashlib.sha256(raw_key.encode()).hexdigest(),
        )
        MigrationExecutor(connection).migrate(AFTER)
    finally:
        # Later migrations (other apps', or ones added after this) must be back for later tests.
        MigrationExecutor(connection).migrate(latest)
    stored = ApiKey.objects.get(name="old")
    assert stored.prefix == "vgl_0a1b2c3d"
    assert api_key_find(raw_key) == stored
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    listed = client.get("/api/v1/keys/").json()["results"]
    assert [item["prefix"] for item in listed] == ["vgl_0a1b2c3d"]
