"""API shapes of runs, pings, the runs feed and a monitor's stats (CONTRACT §4)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from monitors.models import MAX_ID, Monitor
from pings.models import Ping, Run, RunStatus
from pings.selectors import STATS_WINDOWS


class RunSerializer(serializers.ModelSerializer[Run]):
    class Meta:
        model = Run
        fields = [
            "id",
            "rid",
            "status",
            "started_at",
            "finished_at",
            "duration_ms",
            "exit_code",
            "meta",
            "log",
            "log_truncated",
            "manual",
            "requested_by",
        ]


class PingSerializer(serializers.ModelSerializer[Ping]):
    class Meta:
        model = Ping
        fields = [
            "id",
            "kind",
            "received_at",
            "remote_addr",
            "user_agent",
            "method",
            "body_size",
            "rid",
            "exit_code",
            "run",
            "body",
            "body_truncated",
            "note",
        ]


class MonitorRefSerializer(serializers.ModelSerializer[Monitor]):
    class Meta:
        model = Monitor
        fields = ["id", "name", "slug"]


class FeedRunSerializer(RunSerializer):
    """A run of the project's feed: a monitor's run, and which monitor it belongs to."""

    monitor = MonitorRefSerializer(read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "monitor"]


SINCE_HELP = (
    "Only runs heard of since then (finished, or still running and started): an ISO 8601 "
    "date-time with a time zone (2026-03-01T00:00:00Z) or a duration back from now: "
    "90m, 24h, 7d, 2w (s, m, h, d, w)."
)
_DURATION = re.compile(r"^([0-9]{1,9})([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, *, now: datetime) -> datetime:
    """`24h` → now minus 24 hours; an ISO 8601 date-time with an offset → itself."""
    text = text.strip()
    duration = _DURATION.match(text)
    try:
        if duration:
            return now - timedelta(seconds=int(duration[1]) * _UNIT_SECONDS[duration[2]])
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise serializers.ValidationError(
            "Out of range: give a date-time or a duration that reaches back less far."
            if duration
            else "Not a date-time: give ISO 8601 with a time zone (2026-03-01T00:00:00Z) or a duration "
            "such as 90m, 24h or 7d."
        ) from None
    if moment.tzinfo is None:
        raise serializers.ValidationError(
            "Give the date-time a time zone (2026-03-01T00:00:00Z or +01:00), or a duration such as 24h."
        )
    return moment


class RunFeedFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of `runs/`; an empty value means no filter."""

    status = serializers.ChoiceField(choices=RunStatus.choices, required=False, allow_blank=True)
    since = serializers.CharField(required=False, allow_blank=True, max_length=64)
    monitor = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, source="monitor_id")
    tag = serializers.CharField(required=False, allow_blank=True, max_length=50)

    def validate_since(self, value: str) -> datetime | None:
        return parse_since(value, now=timezone.now()) if value.strip() else None


class SuccessRateSerializer(serializers.Serializer[Any]):
    """Successful / finished runs among those that finished in the last 24 hours, 7 and 30 days
    (0..1), or null when none finished then."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # "24h" is not a Python name, so these cannot be declared as class attributes.
        return {
            name: serializers.FloatField(allow_null=True, min_value=0, max_value=1) for name in STATS_WINDOWS
        }


class DurationPercentilesSerializer(serializers.Serializer[Any]):
    """Milliseconds: nearest-rank percentiles (each one a duration that really occurred) over the
    newest 1,000 successful runs with a duration that finished in the last 30 days; null when
    there are none."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: serializers.IntegerField(allow_null=True, min_value=0) for name in ("p50", "p95")}


class MonitorStatsSerializer(serializers.Serializer[Any]):
    success_rate = SuccessRateSerializer()
    duration_ms = DurationPercentilesSerializer()
    failures_24h = serializers.IntegerField(
        min_value=0, help_text="Failed runs that finished in the last 24 hours."
    )
    last_failure = RunSerializer(
        allow_null=True, help_text="The failed run that finished last, or null when none ever failed."
    )
