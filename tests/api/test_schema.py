"""The OpenAPI schema: it renders, is valid, names every endpoint, the auth scheme and the errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from openapi_spec_validator import validate

ENDPOINTS = {
    "/api/v1/monitors/": {"get", "post"},
    "/api/v1/monitors/{id}/": {"get", "patch", "delete"},
    "/api/v1/monitors/{id}/pause/": {"post"},
    "/api/v1/monitors/{id}/resume/": {"post"},
    "/api/v1/monitors/{id}/runs/": {"get"},
    "/api/v1/monitors/{id}/pings/": {"get"},
    "/api/v1/monitors/{id}/stats/": {"get"},
    "/api/v1/monitors/{id}/run/": {"post"},
    "/api/v1/monitors/{id}/run-requests/": {"get"},
    "/api/v1/agent/claim/": {"get"},
    "/api/v1/runs/": {"get"},
    "/api/v1/project/": {"get", "patch"},
    "/api/v1/audit/": {"get"},
    "/api/v1/metrics/": {"get"},
    "/api/v1/keys/": {"get", "post"},
    "/api/v1/keys/{id}/": {"delete"},
    "/api/v1/incidents/": {"get"},
    "/api/v1/incidents/{id}/": {"get"},
    "/api/v1/incidents/{id}/acknowledge/": {"post"},
    "/api/v1/maintenance/": {"get", "post"},
    "/api/v1/maintenance/{id}/": {"get", "patch", "delete"},
    "/api/v1/channels/": {"get", "post"},
    "/api/v1/channels/{id}/": {"get", "patch", "delete"},
    "/api/v1/channels/{id}/test/": {"post"},
    "/api/v1/channels/{id}/rotate-secret/": {"post"},
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_schema_is_valid_openapi(schema: dict[str, Any]) -> None:
    validate(schema)


@pytest.mark.django_db
def test_spectacular_generates_it_without_warnings(tmp_path: Path) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_every_endpoint_is_described(schema: dict[str, Any]) -> None:
    described = {path: set(methods) for path, methods in schema["paths"].items()}
    assert described == ENDPOINTS


def test_ids_are_integers(schema: dict[str, Any]) -> None:
    for path, _method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"]["type"] == "integer", path


def test_every_operation_needs_the_bearer_key(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"]["BearerKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A project API key: vgl_…",
    }
    for path, method, operation in operations(schema):
        assert operation["security"] == [{"BearerKey": []}], (method, path)


def test_error_answers_are_described(schema: dict[str, Any]) -> None:
    error = {"$ref": "#/components/schemas/Error"}
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        assert responses["401"]["content"]["application/json"]["schema"] == error, (method, path)
        assert "WWW-Authenticate" in responses["401"]["headers"]
        if method != "get" or path.startswith("/api/v1/keys/"):
            assert responses["403"]["content"]["application/json"]["schema"] == error, (method, path)
        if "{id}" in path:
            assert responses["404"]["content"]["application/json"]["schema"] == error, (method, path)
        if "requestBody" in operation:
            assert "FieldErrors" in str(responses["400"]), (method, path)
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]


def test_lists_are_paginated_in_the_schema(schema: dict[str, Any]) -> None:
    for path in (
        "/api/v1/monitors/",
        "/api/v1/incidents/",
        "/api/v1/monitors/{id}/runs/",
        "/api/v1/monitors/{id}/run-requests/",
        "/api/v1/runs/",
        "/api/v1/keys/",
    ):
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        paginated = schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
        assert set(paginated["required"]) >= {"count", "results"}, path


@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_render_with_local_assets_only(page: str) -> None:
    response = Client().get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "http://" not in html
    assert "https://" not in html
    assert "/api/v1/schema/" in html
