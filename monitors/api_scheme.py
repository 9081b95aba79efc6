"""Describes the Bearer key scheme and the API's error answers to drf-spectacular."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

WRITE_METHODS = {"post", "put", "patch", "delete"}

ERROR_COMPONENTS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "FieldErrors": {
        "type": "object",
        "description": (
            "Messages by field name (`non_field_errors` for the object as a whole); a list "
            "field's messages are keyed by item index."
        ),
        "additionalProperties": {
            "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]
        },
    },
}


class BearerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "monitors.api_auth.BearerKeyAuthentication"
    name = "BearerKey"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A project API key: vgl_…"}


def _error(description: str, **extra: Any) -> dict[str, Any]:
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {"description": description, "content": body, **extra}


def _bad_request() -> dict[str, Any]:
    """Field errors, or `{"detail"}` when the body is not even parseable."""
    refs = [{"$ref": f"#/components/schemas/{name}"} for name in ("FieldErrors", "Error")]
    return {"description": "Invalid input.", "content": {"application/json": {"schema": {"oneOf": refs}}}}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Every answer an operation can give, so clients (and schemathesis) see the error shapes too."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_COMPONENTS)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not operation.get("security"):
                continue
            responses = operation.setdefault("responses", {})
            query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            errors = {
                "401": _error(
                    "No API key, or an unknown one.",
                    headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
                ),
            }
            if method in WRITE_METHODS or path.startswith("/api/v1/keys/"):
                errors["403"] = _error("This API key is read-only.")
            if "{" in path or "page" in query:
                errors["404"] = _error("No such object in the key's project (or no such page).")
            if "requestBody" in operation or query - {"page"}:
                errors["400"] = _bad_request()
            for code, response in errors.items():
                responses.setdefault(code, response)
            operation["responses"] = dict(sorted(responses.items()))
    return result
