"""The channel and key lists page like every other list: 50 per page, `next`/`previous` links."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from monitors.api_keys import api_key_create
from monitors.models import Project
from tests.api.builders import make_channel

pytestmark = pytest.mark.django_db


def read_all_pages(api: APIClient, path: str) -> tuple[list[int], list[dict[str, object]]]:
    """Every id on every page, following `next`, and the pages' envelopes."""
    ids: list[int] = []
    pages: list[dict[str, object]] = []
    url: str | None = path
    while url is not None:
        response = api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append(body)
        ids.extend(item["id"] for item in body["results"])
        url = body["next"]
    return ids, pages


def test_channels_are_paginated(api: APIClient, project: Project) -> None:
    created = [make_channel(project, name=f"hook {n}").id for n in range(53)]
    ids, pages = read_all_pages(api, "/api/v1/channels/")
    assert [len(page["results"]) for page in pages] == [50, 3]  # type: ignore[arg-type]
    assert pages[0]["count"] == 53
    assert pages[0]["previous"] is None
    assert str(pages[1]["previous"]).endswith("/api/v1/channels/")
    assert sorted(ids) == sorted(created)


def test_keys_are_paginated(api: APIClient, project: Project) -> None:
    for n in range(52):
        api_key_create(project=project, name=f"key {n}")
    ids, pages = read_all_pages(api, "/api/v1/keys/")
    # The test's own key is one of them: 53 in all.
    assert [len(page["results"]) for page in pages] == [50, 3]  # type: ignore[arg-type]
    assert pages[0]["count"] == 53
    assert len(set(ids)) == 53


def test_a_page_past_the_end_is_404(api: APIClient, project: Project) -> None:
    make_channel(project)
    assert api.get("/api/v1/channels/?page=3").status_code == 404
    assert api.get("/api/v1/keys/?page=3").status_code == 404
