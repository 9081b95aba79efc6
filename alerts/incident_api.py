"""`incidents/`: what went wrong, and what was sent about it (CONTRACT §4)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.models import DeliveryAttempt, Incident, Notification, ProblemKind
from alerts.selectors import incidents_for_project
from alerts.services import incident_acknowledge
from monitors.api_views import key_project
from monitors.models import MAX_ID


class DeliveryAttemptSerializer(serializers.ModelSerializer[DeliveryAttempt]):
    error = serializers.SerializerMethodField()

    class Meta:
        model = DeliveryAttempt
        fields = ["at", "status_code", "error", "latency_ms"]

    def get_error(self, attempt: DeliveryAttempt) -> str | None:
        return attempt.error or None


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    channel = serializers.IntegerField(source="channel_id", read_only=True)
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "channel", "event", "status", "attempts"]


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    monitor = serializers.IntegerField(source="monitor_id", read_only=True)
    kinds = serializers.ListField(child=serializers.ChoiceField(ProblemKind.choices), read_only=True)
    notifications = NotificationSerializer(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "monitor",
            "kind",
            "kinds",
            "detail",
            "opened_at",
            "resolved_at",
            "resolved_reason",
            "acknowledged_at",
            "notifications",
        ]
        read_only_fields = fields


class IncidentFilterSerializer(serializers.Serializer[dict[str, Any]]):
    monitor = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, source="monitor_id")
    # allow_null: a missing flag means "either", not False (DRF's default for form-style input).
    open = serializers.BooleanField(required=False, allow_null=True, source="is_open")


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("monitor", int, description="Only this monitor's incidents."),
            OpenApiParameter("open", bool, description="true: unresolved only; false: resolved only."),
        ]
    )
)
class IncidentViewSet(viewsets.ReadOnlyModelViewSet[Incident]):
    serializer_class = IncidentSerializer

    def get_queryset(self) -> QuerySet[Incident]:
        if getattr(self, "swagger_fake_view", False):
            return Incident.objects.none()
        project = key_project(self.request)
        if self.action != "list":
            return incidents_for_project(project=project)
        filters = IncidentFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return incidents_for_project(project=project, **filters.validated_data)

    @extend_schema(request=None, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Stops "still down" reminders for this incident; acknowledging again changes nothing."""
        incident = incident_acknowledge(incident=self.get_object())
        return Response(self.get_serializer(incident).data)
