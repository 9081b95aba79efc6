"""A read-only key sees no secret that lets its holder report runs or reach a receiver (CONTRACT §4):
the project's ping key, monitors' ping URLs and channels' config are null for it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from alerts.channels import channel_create
from alerts.models import Channel
from monitors.models import Monitor, Project
from tests.conftest import results

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"


@pytest.fixture
def channels(project: Project) -> list[Channel]:
    return [
        channel_create(project=project, kind="slack", name="ops", config={"url": SLACK_URL}),
        channel_create(project=project, kind="webhook", name="hook", config={"url": "https://example.com/h"}),
        channel_create(project=project, kind="email", name="mail", config={"to": ["oncall@example.com"]}),
    ]


def test_a_read_only_key_gets_no_ping_key(read_only_api: APIClient, project: Project) -> None:
    body = read_only_api.get("/api/v1/project/").json()
    assert body["ping_key"] is None
    assert project.ping_key not in str(body)
    # What it may see, it still sees.
    assert (body["id"], body["status_key"], body["badge_key"]) == (
        project.id,
        project.status_key,
        project.badge_key,
    )


def test_a_read_write_key_gets_the_ping_key(api: APIClient, project: Project) -> None:
    assert api.get("/api/v1/project/").json()["ping_key"] == project.ping_key


def test_a_read_only_key_sees_no_channel_config(
    read_only_api: APIClient, channels: list[Channel], monitor: Monitor
) -> None:
    listed = results(read_only_api.get("/api/v1/channels/"))
    assert [item["config"] for item in listed] == [None, None, None]
    assert [item["name"] for item in listed] == ["ops", "hook", "mail"]
    for channel in channels:
        body = read_only_api.get(f"/api/v1/channels/{channel.id}/").json()
        assert body["config"] is None
        assert body["kind"] == channel.kind
    assert SLACK_URL not in read_only_api.get("/api/v1/channels/").content.decode()


def test_a_read_write_key_sees_channel_config(api: APIClient, channels: list[Channel]) -> None:
    assert [item["config"] for item in results(api.get("/api/v1/channels/"))] == [
        {"url": SLACK_URL},
        {"url": "https://example.com/h"},
        {"to": ["oncall@example.com"]},
    ]


def test_the_schema_says_these_fields_may_be_null(api: APIClient) -> None:
    schemas = api.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    assert schemas["Project"]["properties"]["ping_key"]["nullable"] is True
    assert schemas["Channel"]["properties"]["config"]["nullable"] is True
