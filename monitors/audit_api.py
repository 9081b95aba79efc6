"""`GET /api/v1/audit/`: the key's project's audit log, newest first, read-only (CONTRACT §4)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers

from monitors.api_views import key_project
from monitors.audit_log import FilterError, audit_entries, parse_filters
from monitors.models import AuditEntry
from monitors.permissions import Permission, require


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    actor = serializers.SerializerMethodField()
    object = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "via", "action", "object", "changes", "address"]

    @extend_schema_field(
        {
            "type": "object",
            "description": '{"user": email} (null for the command line) or {"key": name, "prefix": prefix}',
        }
    )
    def get_actor(self, entry: AuditEntry) -> dict[str, Any]:
        if entry.actor_key_prefix:
            return {"key": entry.actor_key_name, "prefix": entry.actor_key_prefix}
        return {"user": entry.actor_email or None}

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"type": {"type": "string"}, "id": {"type": "string"}, "name": {"type": "string"}},
        }
    )
    def get_object(self, entry: AuditEntry) -> dict[str, Any]:
        return {"type": entry.object_type, "id": entry.object_id, "name": entry.object_name}


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("who", str, description="An e-mail, an API key's name or prefix, or `cli`."),
            OpenApiParameter("action", str, description="`monitor` (all its actions) or `monitor.update`."),
            OpenApiParameter("since", str, description="A date or an ISO 8601 time."),
            OpenApiParameter("until", str, description="A date (inclusive) or an ISO 8601 time."),
        ]
    )
)
class AuditEntryList(generics.ListAPIView[AuditEntry]):
    serializer_class = AuditEntrySerializer

    def get_queryset(self) -> QuerySet[AuditEntry]:
        if getattr(self, "swagger_fake_view", False):
            return AuditEntry.objects.none()
        project = key_project(self.request)
        require(Permission.VIEW_AUDIT, project)
        try:
            filters = parse_filters(self.request.query_params)
        except FilterError as error:
            raise serializers.ValidationError({error.field: [error.message]}) from None
        return audit_entries(project=project, filters=filters)
