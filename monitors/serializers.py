"""API shapes of monitors, the key's project and API keys (CONTRACT §4)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from monitors.api_secrets import SecretCharField
from monitors.keywords import KEYWORD_KINDS, MAX_KEYWORD_LENGTH, KeywordsError, normalize_keywords
from monitors.models import MAX_ID, ApiKey, Monitor, MonitorStatus, Project
from monitors.projects import (
    NAME_MAX_LENGTH,
    PING_KEY_MAX_LENGTH,
    PING_KEY_MIN_LENGTH,
    ProjectError,
    validate_ping_key,
    validate_project_name,
)
from monitors.rules import RuleError, validate_rules
from monitors.schedule import ScheduleError, parse_schedule
from monitors.services import schedule_fields
from triggers.serializers import TriggerField

# \Z, not $: $ also matches before a final newline. (The schema shows it as $.)
SLUG_PATTERN = r"\A[a-z0-9_-]+\Z"
PING_UUID_IN_USE = "This ping uuid is already in use."


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "object",
                "properties": {"kind": {"enum": ["interval"]}, "seconds": {"type": "integer", "minimum": 1}},
                "required": ["kind", "seconds"],
            },
            {
                "type": "object",
                "properties": {
                    "kind": {"enum": ["cron"]},
                    "expression": {"type": "string"},
                    "timezone": {"type": "string"},
                },
                "required": ["kind", "expression"],
            },
        ]
    }
)
class ScheduleField(serializers.Field):
    def to_representation(self, monitor: Monitor) -> dict[str, Any]:
        return monitor.schedule

    def get_attribute(self, instance: Monitor) -> Monitor:
        return instance

    def to_internal_value(self, data: object) -> dict[str, Any]:
        try:
            return schedule_fields(parse_schedule(data))
        except ScheduleError as error:
            raise serializers.ValidationError(str(error)) from None


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "field": {"type": "string"},
                "op": {"enum": ["lt", "lte", "gt", "gte", "eq", "ne"]},
                "value": {"oneOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}]},
            },
            "required": ["field", "op", "value"],
        },
    }
)
class RulesField(serializers.JSONField):
    def to_internal_value(self, data: object) -> list[dict[str, Any]]:
        try:
            rules = validate_rules(data)
        except RuleError as error:
            raise serializers.ValidationError(str(error)) from None
        for index, rule in enumerate(rules, start=1):
            _check_storable(rule["field"], f"rule {index}: field")
            _check_storable(rule["value"], f"rule {index}: value")
        return rules


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            kind: {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_KEYWORD_LENGTH},
            }
            for kind in KEYWORD_KINDS
        },
        "additionalProperties": False,
    }
)
class KeywordsField(serializers.JSONField):
    def to_internal_value(self, data: object) -> dict[str, list[str]]:
        try:
            return normalize_keywords(data)
        except KeywordsError as error:
            raise serializers.ValidationError(str(error)) from None


def _check_storable(value: object, where: str) -> None:
    """PostgreSQL refuses NUL characters and lone surrogates, JSON has no infinity: say so, not 500."""
    if isinstance(value, str) and ("\x00" in value or not _is_utf8(value)):
        raise serializers.ValidationError(f"{where} must be text without NUL or lone surrogate characters")
    if isinstance(value, float) and not math.isfinite(value):
        raise serializers.ValidationError(f"{where} must be a finite number")


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


class PingUuidField(serializers.UUIDField):
    """A uuid written as text; DRF would also take an integer, which makes a guessable uuid."""

    def to_internal_value(self, data: object) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


@extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
class ChannelIdsField(serializers.Field):
    """Channel ids of the monitor's project; an unknown id is an error, not a silent drop."""

    def get_attribute(self, instance: Monitor) -> Monitor:
        return instance

    def to_representation(self, monitor: Monitor) -> list[int]:
        return sorted(channel.id for channel in monitor.channels.all())

    def to_internal_value(self, data: object) -> list[int]:
        if not isinstance(data, list) or not all(
            isinstance(item, int) and not isinstance(item, bool) for item in data
        ):
            raise serializers.ValidationError("A list of channel ids.")
        project: Project = self.context["project"]
        # An id outside the column's range names no channel; the database would refuse it.
        storable = [item for item in data if 1 <= item <= MAX_ID]
        known = set(project.channels.filter(id__in=storable).values_list("id", flat=True))
        unknown = sorted(set(data) - known)
        if unknown:
            raise serializers.ValidationError(f"Unknown channel ids: {unknown}.")
        return sorted(set(data))


class MonitorSerializer(serializers.ModelSerializer[Monitor]):
    slug = serializers.RegexField(SLUG_PATTERN, max_length=100, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=50)
    schedule = ScheduleField(required=False)
    rules = RulesField(required=False)
    channels = ChannelIdsField(required=False)
    ping_url = serializers.SerializerMethodField()
    grace_seconds = serializers.IntegerField(min_value=0, max_value=10 * 365 * 86400, required=False)
    max_duration_seconds = serializers.IntegerField(
        min_value=1, max_value=10 * 365 * 86400, required=False, allow_null=True
    )
    failure_threshold = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    recovery_threshold = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    keywords = KeywordsField(required=False)
    runbook_url = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        validators=[URLValidator(schemes=["http", "https"], message="An http or https URL.")],
    )
    flapping = serializers.BooleanField(
        read_only=True,
        help_text="Incidents opened 3 times within FLAP_WINDOW_SECONDS: problem and recovery "
        "notifications are held until it has been stable that long, then summarised once.",
    )
    # Only on create, to keep a ping URL from another service; never read back (a secret).
    ping_uuid = PingUuidField(required=False, write_only=True)
    notify_every_failures = serializers.IntegerField(
        min_value=0,
        max_value=1000,
        required=False,
        help_text="0: only the failure that opens an incident notifies; N: also every Nth failure in a row "
        "while it stays open (3: the 1st, 3rd, 6th…).",
    )
    trigger = TriggerField()

    class Meta:
        model = Monitor
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "tags",
            "schedule",
            "grace_seconds",
            "max_duration_seconds",
            "failure_threshold",
            "recovery_threshold",
            "allow_overlap",
            "rules",
            "channels",
            "status",
            "ping_url",
            "last_ping_at",
            "next_due_at",
            "last_duration_ms",
            "resume_on_ping",
            "methods",
            "keywords",
            "runbook_url",
            "ping_uuid",
            "notify_every_failures",
            "trigger",
            "flapping",
            "pings_refused",
        ]
        read_only_fields = [
            "id",
            "status",
            "last_ping_at",
            "next_due_at",
            "last_duration_ms",
            "pings_refused",
        ]
        extra_kwargs = {"name": {"required": False}}

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_ping_url(self, monitor: Monitor) -> str | None:
        """The ping URL is a secret that lets its holder report runs: not for read-only keys."""
        api_key = self.context["request"].auth
        return None if api_key.read_only else monitor.ping_url

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        project: Project = self.context["project"]
        if self.instance is not None and "ping_uuid" in attrs:
            raise serializers.ValidationError(
                {"ping_uuid": "Can only be given when the monitor is created: a ping URL never changes."}
            )
        if (
            attrs.get("ping_uuid") is not None
            and Monitor.objects.filter(ping_uuid=attrs["ping_uuid"]).exists()
        ):
            raise serializers.ValidationError({"ping_uuid": PING_UUID_IN_USE})
        if self.instance is None:
            if not attrs.get("slug") and not attrs.get("name"):
                raise serializers.ValidationError({"slug": "Give a slug or a name."})
            if not attrs.get("slug"):
                attrs["slug"] = slugify(attrs["name"])[:100] or "monitor"
        slug = attrs.get("slug")
        if slug:
            clash = Monitor.objects.filter(project=project, slug=slug)
            if self.instance is not None:
                clash = clash.exclude(id=self.instance.id)
            if clash.exists():
                raise serializers.ValidationError({"slug": f"A monitor with slug {slug!r} already exists."})
        if "channels" in attrs:
            attrs["channel_ids"] = attrs.pop("channels")
        schedule = attrs.pop("schedule", None)
        if schedule:
            attrs.update(schedule)
        return attrs


class ProjectSerializer(serializers.ModelSerializer[Project]):
    ping_key = SecretCharField(max_length=40)
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", "name", "ping_key", "status_key", "status_url", "badge_key"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, project: Project) -> str:
        return f"{settings.SITE_URL}/status/{project.status_key}/"


class ProjectUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    """PATCH project/: the rules themselves live in monitors.projects (the UI calls them too)."""

    name = serializers.CharField(required=False, max_length=NAME_MAX_LENGTH)
    ping_key = serializers.CharField(
        required=False,
        min_length=PING_KEY_MIN_LENGTH,
        max_length=PING_KEY_MAX_LENGTH,
        help_text="Letters, digits, '-' and '_'; unique; never shaped like a uuid.",
    )

    def validate_ping_key(self, value: str) -> str:
        return _project_rule(validate_ping_key, value)

    def validate_name(self, value: str) -> str:
        return _project_rule(validate_project_name, value)


def _project_rule(rule: Callable[[str], str], value: str) -> str:
    try:
        return rule(value)
    except ProjectError as error:
        raise serializers.ValidationError(error.message) from None


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "read_only", "created_at", "last_used_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at"]


class ApiKeyCreatedSerializer(serializers.Serializer[dict[str, Any]]):
    """The answer to creating a key: the only time the whole key is shown."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    # DRF's metaclass moves declared fields off the class, so this shadows nothing at run time.
    read_only = serializers.BooleanField()  # type: ignore[assignment]
    key = serializers.CharField()


class MonitorFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of the monitor list; validated so that bad input is a 400, not a 500."""

    tag = serializers.CharField(required=False, allow_blank=True, max_length=50)
    status = serializers.ChoiceField(choices=MonitorStatus.choices, required=False, allow_blank=True)
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, source="query")


class PauseSerializer(serializers.Serializer[dict[str, Any]]):
    until = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Resume by itself at this time (ISO 8601 with an offset)."
    )

    def validate_until(self, until: datetime | None) -> datetime | None:
        raw = self.initial_data.get("until")
        parsed = parse_datetime(raw) if isinstance(raw, str) else None
        if until is not None and (parsed is None or parsed.tzinfo is None):
            raise serializers.ValidationError("An ISO 8601 date-time with a time zone offset.")
        if until is not None and until <= timezone.now():
            raise serializers.ValidationError("Must be in the future.")
        return until
