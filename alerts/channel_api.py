"""`channels/` CRUD, `channels/<id>/test/` and `channels/<id>/rotate-secret/` (CONTRACT §4)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.channels import (
    NotAWebhook,
    channel_create,
    channel_delete,
    channel_rotate_secret,
    channel_send_test,
    channel_update,
)
from alerts.delivery.senders import ConfigError, sender_for
from alerts.models import Channel, ChannelKind
from monitors.api_secrets import SecretJSONField
from monitors.api_views import ProjectScopedMixin, key_project
from monitors.models import Monitor


class ProjectMonitorField(serializers.PrimaryKeyRelatedField[Monitor]):
    """Monitor ids of the key's project only: another project's id "does not exist"."""

    def get_queryset(self) -> QuerySet[Monitor]:
        return Monitor.objects.filter(project=self.context.get("project"))


class ChannelSerializer(serializers.ModelSerializer[Channel]):
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    config = SecretJSONField(
        help_text=(
            '{"to": ["a@example.com"]} for email; {"url": "…"} for slack, webhook and apprise; '
            "null for read-only API keys."
        )
    )
    reminder_hours = serializers.IntegerField(
        min_value=1,
        max_value=24 * 365,
        required=False,
        allow_null=True,
        help_text='Hours between "still down" reminders while an incident is open; null: none.',
    )
    monitors = ProjectMonitorField(
        many=True,
        required=False,
        help_text="Monitors that notify this channel; on create, every monitor when left out.",
    )

    class Meta:
        model = Channel
        fields = ["id", "kind", "name", "config", "reminder_hours", "monitors", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("kind") or (self.instance.kind if self.instance else "")
        if self.instance is not None and kind != self.instance.kind:
            raise serializers.ValidationError(
                {"kind": "A channel's kind cannot change; create a new channel."}
            )
        if kind == ChannelKind.APPRISE and not settings.APPRISE_ENABLED:
            raise serializers.ValidationError({"kind": "Apprise channels are disabled on this server."})
        if "config" in attrs:
            try:
                attrs["config"] = sender_for(kind).clean_config(attrs["config"])
            except ConfigError as error:
                raise serializers.ValidationError({"config": {error.field: [error.message]}}) from None
        return attrs


class ChannelCreatedSerializer(ChannelSerializer):
    secret = serializers.CharField(required=False, help_text="Webhook channels only: the signing secret.")

    class Meta(ChannelSerializer.Meta):
        fields = [*ChannelSerializer.Meta.fields, "secret"]


class TestResultSerializer(serializers.Serializer[Any]):
    delivered = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)


SecretSerializer = inline_serializer("ChannelSecret", {"secret": serializers.CharField()})


class ChannelViewSet(ProjectScopedMixin, viewsets.ModelViewSet[Channel]):
    serializer_class = ChannelSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Channel]:
        if getattr(self, "swagger_fake_view", False):
            return Channel.objects.none()
        return (
            Channel.objects.filter(project=key_project(self.request))
            .prefetch_related("monitors")
            .order_by("id")
        )

    @extend_schema(responses={201: ChannelCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attrs = dict(serializer.validated_data)
        monitors = attrs.pop("monitors", None)
        channel = channel_create(
            project=key_project(request),
            monitor_ids=None if monitors is None else [monitor.id for monitor in monitors],
            **attrs,
        )
        body = dict(self.get_serializer(channel).data)
        if channel.kind == ChannelKind.WEBHOOK:
            body["secret"] = channel.secret
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: serializers.BaseSerializer[Channel]) -> None:
        assert serializer.instance is not None
        attrs = dict(serializer.validated_data)
        monitors = attrs.pop("monitors", None)
        serializer.instance = channel_update(
            channel=serializer.instance,
            monitor_ids=None if monitors is None else [monitor.id for monitor in monitors],
            **attrs,
        )

    def perform_destroy(self, instance: Channel) -> None:
        channel_delete(channel=instance)

    @extend_schema(request=None, responses=TestResultSerializer)
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        result = channel_send_test(self.get_object())
        return Response(TestResultSerializer(result).data)

    @extend_schema(request=None, responses={200: SecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        try:
            secret = channel_rotate_secret(channel=self.get_object())
        except NotAWebhook:
            return Response({"detail": "Only webhook channels have a signing secret."}, status=400)
        return Response({"secret": secret})
