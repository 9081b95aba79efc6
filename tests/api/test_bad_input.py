"""API input that once answered 500 (issue 13's probe): now a 400 that names what is wrong, and
nothing stored. Runs on SQLite and PostgreSQL (which refuses NUL and lone surrogates)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import Channel, MaintenanceWindow
from monitors.models import Monitor, Project
from monitors.projects import ProjectError, validate_ping_key
from monitorsite.api_formats import MAX_DEPTH
from tests.api.builders import make_channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def targets(project: Project, monitor: Monitor) -> dict[str, int]:
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        project=project, starts_at=now, ends_at=now + timedelta(hours=1)
    )
    return {"monitor": monitor.id, "channel": make_channel(project).id, "window": window.id}


# Every endpoint that reads a request body.
WRITES = [
    ("post", "/api/v1/monitors/"),
    ("patch", "/api/v1/monitors/{monitor}/"),
    ("post", "/api/v1/monitors/{monitor}/pause/"),
    ("post", "/api/v1/channels/"),
    ("patch", "/api/v1/channels/{channel}/"),
    ("post", "/api/v1/keys/"),
    ("post", "/api/v1/maintenance/"),
    ("patch", "/api/v1/maintenance/{window}/"),
]


def send(api: APIClient, method: str, path: str, body: str | bytes, **extra: Any) -> Any:
    return getattr(api, method)(path, data=body, content_type="application/json", **extra)


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize(
    "body", ["[" * 100_000, '{"a":' * 100_000, "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)]
)
def test_deeply_nested_json_is_400_on_every_write(
    api: APIClient, targets: dict[str, int], method: str, path: str, body: str
) -> None:
    before = Monitor.objects.count(), Channel.objects.count(), MaintenanceWindow.objects.count()
    response = send(api, method, path.format(**targets), body)
    assert response.status_code == 400
    assert response.json()["detail"] == f"JSON parse error - nested deeper than {MAX_DEPTH} levels"
    assert (Monitor.objects.count(), Channel.objects.count(), MaintenanceWindow.objects.count()) == before


def test_nesting_up_to_the_limit_is_parsed(api: APIClient) -> None:
    body = '{"name": "n", "tags": ["a"], "x": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
    assert send(api, "post", "/api/v1/monitors/", body).status_code == 201


BAD_URLS = [
    ("http://exa\\u0000mple.com/", "NUL or a lone surrogate"),
    ("http://exa\\ud800mple.com/", "NUL or a lone surrogate"),
    ("http://exa mple.com/", "a space or a control character"),
    ("http://example.com/a b", "a space or a control character"),
    ("http://exa\\tmple.com/", "a space or a control character"),
    ("http://example.com/\\r\\nX-Evil: 1", "a space or a control character"),
    ("http:///hook", "the URL has no host"),
    ("http://:80/hook", "the URL has no host"),
    ("http://a..b/hook", "not a valid host name"),
    ("http://exa%20mple.com/", "not a valid host name"),
    ("http://[2002:7f00:1::]/", "127.0.0.1 via 6to4, a loopback address"),
    ("http://[2002:a00:1::1]/", "10.0.0.1 via 6to4, a private address"),
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "127.0.0.1 via Teredo, a loopback address"),
    ("http://[64:ff9b::7f00:1]/", "127.0.0.1 via NAT64, a loopback address"),
    ("http://[64:ff9b::a9fe:a9fe]/", "169.254.169.254 via NAT64, a link-local address"),
    ("http://[2606:4700::5efe:7f00:1]/", "127.0.0.1 via ISATAP, a loopback address"),
    ("http://[::7f00:1]/", "127.0.0.1 via IPv4-compatible, a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "a loopback address"),
    ("http://[::ffff:0:7f00:1]/", "a reserved address"),
]


@pytest.mark.parametrize("kind", ["webhook", "slack"])
@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_a_bad_channel_url_is_400_naming_the_field(
    api: APIClient, settings: Any, kind: str, url: str, reason: str
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = False
    body = '{"kind": "' + kind + '", "name": "hook", "config": {"url": "' + url + '"}}'
    response = send(api, "post", "/api/v1/channels/", body)
    assert response.status_code == 400, response.content
    [message] = response.json()["config"]["url"]
    assert reason in message
    assert not Channel.objects.exists()


@pytest.mark.parametrize(("url", "reason"), BAD_URLS[:4])
def test_a_bad_url_is_refused_on_update_too(api: APIClient, project: Project, url: str, reason: str) -> None:
    channel = make_channel(project)
    response = send(api, "patch", f"/api/v1/channels/{channel.id}/", '{"config": {"url": "' + url + '"}}')
    assert response.status_code == 400
    assert reason in response.json()["config"]["url"][0]
    channel.refresh_from_db()
    assert channel.config == {"url": "https://example.com/hook"}


def test_a_lone_surrogate_repeated_in_an_error_is_escaped(api: APIClient) -> None:
    response = send(api, "post", "/api/v1/channels/", '{"kind": "\\ud800", "name": "x", "config": {}}')
    assert response.status_code == 400
    assert response.content == b'{"kind":["\\"\\ud800\\" is not a valid choice."]}'


@pytest.mark.parametrize("accept", ["text/html", "application/xml"])
def test_the_api_answers_json_only(api: APIClient, monitor: Monitor, accept: str) -> None:
    """No browsable HTML API: its forms crashed on invalid input (a date-time of "garbage")."""
    body = '{"until": "garbage"}'
    response = send(api, "post", f"/api/v1/monitors/{monitor.id}/pause/", body, HTTP_ACCEPT=accept)
    assert (response.status_code, response["Content-Type"]) == (406, "application/json")
    assert (
        api.get("/api/v1/monitors/", HTTP_ACCEPT="text/html,*/*;q=0.8")["Content-Type"] == "application/json"
    )
    monitor.refresh_from_db()
    assert not monitor.paused


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"name": "\\u0000"}', "name"),
        ('{"name": "a\\ud800"}', "name"),
        ('{"name": "ok", "description": "\\u0000"}', "description"),
        ('{"name": "ok", "tags": ["\\udfff"]}', "tags"),
        ('{"name": "ok", "slug": "ab\\nc"}', "slug"),
        ('{"name": "ok", "slug": "ab\\u0000c"}', "slug"),
        ('{"name": "ok", "grace_seconds": 1e400}', "grace_seconds"),
        ('{"name": "ok", "rules": [{"field": "x", "op": "eq", "value": 1e400}]}', "rules"),
        ('{"name": "ok", "rules": [{"field": "\\u0000", "op": "eq", "value": 1}]}', "rules"),
        (
            '{"name": "ok", "schedule": {"kind": "cron", "expression": "0 3 * * *", "timezone": "\\ud800"}}',
            "schedule",
        ),
        ('{"name": "ok", "schedule": {"kind": "cron", "expression": "0 3 * * \\u0000"}}', "schedule"),
    ],
)
def test_monitor_text_that_cannot_be_stored_is_400(api: APIClient, body: str, field: str) -> None:
    response = send(api, "post", "/api/v1/monitors/", body)
    assert response.status_code == 400
    assert field in response.json()
    assert not Monitor.objects.exists()


@pytest.mark.parametrize("query", ["q=%00", "tag=%00", "status=%00", "q=a%00b&tag=x", "page=%00"])
def test_list_filters_that_cannot_be_stored_are_4xx(api: APIClient, monitor: Monitor, query: str) -> None:
    assert api.get(f"/api/v1/monitors/?{query}").status_code in (400, 404)


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "\\u0000", "cron_expression": "0 3 * * *", "duration_seconds": 60}',
        '{"name": "w", "cron_expression": "0 3 * * *", "timezone": "\\u0000", "duration_seconds": 60}',
        '{"name": "w", "cron_expression": "\\ud800", "duration_seconds": 60}',
    ],
)
def test_maintenance_text_that_cannot_be_stored_is_400(api: APIClient, body: str) -> None:
    assert send(api, "post", "/api/v1/maintenance/", body).status_code == 400
    assert not MaintenanceWindow.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_options_on_the_documentation_pages_is_405(client: Any, path: str) -> None:
    response = client.options(path)
    assert response.status_code == 405
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("key", ["abcdefghijklmnop\n", "abcdefghijklmnop\x00", "abcdefghijklmnop\u00e9"])
def test_a_ping_key_with_a_trailing_newline_or_other_characters_is_refused(key: str) -> None:
    with pytest.raises(ProjectError, match="Only letters, digits"):
        validate_ping_key(key)
