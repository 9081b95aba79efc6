"""API shapes of runs and pings (CONTRACT §4)."""

from __future__ import annotations

from rest_framework import serializers

from pings.models import Ping, Run


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
        ]
