"""API fields whose values let their holder report runs or reach a receiver (CONTRACT §4).

A read-only key sees them as null: the project's ping key, a channel's config (a Slack
webhook URL is itself the credential). Without a request to tell, they are hidden too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from monitors.models import ApiKey

SECRET_NOTE = "null for read-only API keys"


def shown_to(context: Mapping[str, Any]) -> bool:
    """Whether the request in a serializer's context may see secrets: a read-write key's."""
    api_key = getattr(context.get("request"), "auth", None)
    return isinstance(api_key, ApiKey) and not api_key.read_only


class _HiddenFromReadOnlyKeys(serializers.Field):
    def get_attribute(self, instance: Any) -> Any:
        # DRF renders a None attribute as null without calling to_representation.
        return super().get_attribute(instance) if shown_to(self.context) else None


@extend_schema_field({"type": "string", "nullable": True, "description": SECRET_NOTE})
class SecretCharField(_HiddenFromReadOnlyKeys, serializers.CharField):
    pass


@extend_schema_field(
    {"type": "object", "nullable": True, "additionalProperties": {}, "description": SECRET_NOTE}
)
class SecretJSONField(_HiddenFromReadOnlyKeys, serializers.JSONField):
    pass
