"""`maintenance/`: windows in which problems are recorded but not alerted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from alerts.maintenance import window_of
from alerts.models import MaintenanceWindow
from alerts.selectors import maintenance_windows_for_project
from alerts.services import (
    maintenance_window_create,
    maintenance_window_delete,
    maintenance_window_update,
)
from monitors.api_views import key_project
from monitors.maintenance import window_active_until
from monitors.schedule import ScheduleError, validate_cron_expression, validate_timezone

ONE_OFF_FIELDS = ("starts_at", "ends_at")
RECURRING_FIELDS = ("cron_expression", "duration_seconds")
MAX_DURATION_SECONDS = 366 * 86400


class MaintenanceWindowSerializer(serializers.ModelSerializer[MaintenanceWindow]):
    """One-off (`starts_at`..`ends_at`) or recurring (`cron_expression` in `timezone`, lasting
    `duration_seconds`); the fields of the other form are null."""

    kind = serializers.SerializerMethodField()
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    cron_expression = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    timezone = serializers.CharField(
        required=False, allow_null=True, max_length=64, help_text="IANA name; recurring windows only."
    )
    duration_seconds = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_DURATION_SECONDS
    )
    active_until = serializers.SerializerMethodField()

    class Meta:
        model = MaintenanceWindow
        fields = [
            "id",
            "name",
            "kind",
            "starts_at",
            "ends_at",
            "cron_expression",
            "timezone",
            "duration_seconds",
            "active_until",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    @extend_schema_field({"type": "string", "enum": ["one_off", "recurring"]})
    def get_kind(self, window: MaintenanceWindow) -> str:
        return "recurring" if window.cron_expression else "one_off"

    def get_active_until(self, window: MaintenanceWindow) -> datetime | None:
        """When the window covering this instant ends; null outside the window."""
        return window_active_until(window_of(window), timezone.now())

    def to_representation(self, window: MaintenanceWindow) -> dict[str, Any]:
        data = super().to_representation(window)
        if window.cron_expression:
            data.update(starts_at=None, ends_at=None)
        else:
            data.update(cron_expression=None, timezone=None, duration_seconds=None)
        return data

    def validate_cron_expression(self, expression: str | None) -> str:
        if not expression:
            return ""
        try:
            return validate_cron_expression(expression)
        except ScheduleError as error:
            raise serializers.ValidationError(str(error)) from None

    def validate_timezone(self, name: str | None) -> str:
        try:
            return validate_timezone(name or "UTC")
        except ScheduleError as error:
            raise serializers.ValidationError(str(error)) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Exactly one form, judged on the window as it will be stored (PATCH merges)."""
        merged: dict[str, Any] = {
            name: getattr(self.instance, name, None) for name in (*ONE_OFF_FIELDS, *RECURRING_FIELDS)
        }
        merged.update({name: value for name, value in attrs.items() if name in merged})
        one_off = [name for name in ONE_OFF_FIELDS if merged[name] is not None]
        recurring = [name for name in RECURRING_FIELDS if merged[name]]
        if one_off and recurring:
            raise serializers.ValidationError(
                "A window is one-off (starts_at, ends_at) or recurring (cron_expression, timezone, "
                "duration_seconds), not both; set the other form's fields to null to switch."
            )
        if not one_off and not recurring:
            raise serializers.ValidationError(
                "Give starts_at and ends_at for a one-off window, or cron_expression and "
                "duration_seconds for a recurring one."
            )
        if one_off:
            missing = {
                name: "Required for a one-off window." for name in ONE_OFF_FIELDS if name not in one_off
            }
            if missing:
                raise serializers.ValidationError(missing)
            if merged["ends_at"] <= merged["starts_at"]:
                raise serializers.ValidationError({"ends_at": "Must be after starts_at."})
            if attrs.get("timezone", "UTC") != "UTC":
                raise serializers.ValidationError({"timezone": "Only recurring windows have a time zone."})
            # Leaving recurring behind: drop its fields so the stored row has one form.
            attrs.update(cron_expression="", duration_seconds=None, timezone="UTC")
        else:
            missing = {
                name: "Required for a recurring window." for name in RECURRING_FIELDS if name not in recurring
            }
            if missing:
                raise serializers.ValidationError(missing)
            attrs.update(starts_at=None, ends_at=None)
        return attrs


class MaintenanceWindowViewSet(viewsets.ModelViewSet[MaintenanceWindow]):
    serializer_class = MaintenanceWindowSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[MaintenanceWindow]:
        if getattr(self, "swagger_fake_view", False):
            return MaintenanceWindow.objects.none()
        return maintenance_windows_for_project(project=key_project(self.request))

    def perform_create(self, serializer: serializers.BaseSerializer[MaintenanceWindow]) -> None:
        serializer.instance = maintenance_window_create(
            project=key_project(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer[MaintenanceWindow]) -> None:
        assert serializer.instance is not None
        serializer.instance = maintenance_window_update(
            window=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: MaintenanceWindow) -> None:
        maintenance_window_delete(window=instance)
