"""API shapes of Run now (CONTRACT §4): a monitor's `trigger` field and its run requests."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from monitors.models import Monitor
from triggers.models import RunRequest, TriggerAttempt, TriggerKind
from triggers.services import CLAIM_MAX_WAIT_SECONDS, TriggerError, TriggerSpec, trigger_of, trigger_validate

# Where the views leave a newly set URL trigger's secret for the answer to show, once.
NEW_SECRET_CONTEXT = "new_trigger_secret"


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    "kind": {"enum": ["url"]},
                    "url": {"type": "string", "format": "uri", "nullable": True},
                    "secret": {
                        "type": "string",
                        "readOnly": True,
                        "description": "whsec_…: only in the answer to the write that set the URL trigger.",
                    },
                },
                "required": ["kind", "url"],
            },
            {"type": "object", "properties": {"kind": {"enum": ["agent"]}}, "required": ["kind"]},
        ],
        "nullable": True,
        "description": "How Run now reaches the job: a URL Vigil POSTs to (signed like webhooks) or "
        "`vigil agent`; null: no trigger.",
    }
)
class TriggerField(serializers.Field):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, required=False, **kwargs)

    def get_attribute(self, instance: Monitor) -> Monitor:
        return instance

    def to_representation(self, monitor: Monitor) -> dict[str, Any] | None:
        trigger = trigger_of(monitor)
        if trigger is None:
            return None
        if trigger.kind == TriggerKind.AGENT:
            return {"kind": "agent"}
        # Like a webhook channel's config: the URL reaches a receiver, so read-only keys see null.
        api_key = self.context["request"].auth
        shown: dict[str, Any] = {"kind": "url", "url": None if api_key.read_only else trigger.url}
        secret = self.context.get(NEW_SECRET_CONTEXT)
        if secret:
            shown["secret"] = secret
        return shown

    def to_internal_value(self, data: object) -> TriggerSpec | None:
        try:
            return trigger_validate(data)
        except TriggerError as error:
            raise serializers.ValidationError(error.message) from None


class TriggerAttemptSerializer(serializers.ModelSerializer[TriggerAttempt]):
    class Meta:
        model = TriggerAttempt
        fields = ["at", "status_code", "error", "latency_ms"]


class RunRequestSerializer(serializers.ModelSerializer[RunRequest]):
    attempts = TriggerAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = RunRequest
        fields = [
            "id",
            "rid",
            "status",
            "monitor",
            "kind",
            "requested_by",
            "requested_at",
            "sent_at",
            "started_at",
            "finished_at",
            "ended_at",
            "reason",
            "run",
            "attempts",
        ]


class ClaimQuerySerializer(serializers.Serializer[dict[str, Any]]):
    wait = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=CLAIM_MAX_WAIT_SECONDS,
        default=CLAIM_MAX_WAIT_SECONDS,
        help_text=f"Seconds to wait for a request (0-{CLAIM_MAX_WAIT_SECONDS}).",
    )
    slugs = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10000,
        help_text="Comma-separated slugs this agent can run; only their requests are handed to it.",
    )

    def validate_slugs(self, value: str) -> list[str] | None:
        slugs = [slug.strip() for slug in value.split(",") if slug.strip()]
        return slugs or None


class ClaimedSerializer(serializers.ModelSerializer[RunRequest]):
    """What an agent gets: the request, and which monitor to run."""

    monitor = serializers.SerializerMethodField()

    class Meta:
        model = RunRequest
        fields = ["id", "rid", "status", "monitor", "requested_by", "requested_at"]

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "slug": {"type": "string"}, "name": {"type": "string"}},
        }
    )
    def get_monitor(self, request: RunRequest) -> dict[str, Any]:
        return {"id": request.monitor_id, "slug": request.monitor.slug, "name": request.monitor.name}
