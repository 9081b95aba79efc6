"""REST endpoints for monitors, the key's project, its API keys and its metrics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitors.api_auth import ReadWriteKeyOnly
from monitors.api_keys import api_key_create, api_key_revoke
from monitors.metrics import exposition, metrics_response
from monitors.models import ApiKey, Monitor, MonitorStatus, Project
from monitors.projects import ProjectError, project_update
from monitors.selectors import monitors_for_project
from monitors.serializers import (
    PING_UUID_IN_USE,
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    MonitorFilterSerializer,
    MonitorSerializer,
    PauseSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
)
from monitors.services import monitor_create, monitor_delete, monitor_pause, monitor_resume, monitor_update
from triggers.serializers import NEW_SECRET_CONTEXT
from triggers.services import trigger_set


def key_project(request: Request) -> Project:
    api_key: ApiKey = request.auth  # type: ignore[assignment]
    return api_key.project


class ProjectScopedMixin:
    def get_serializer_context(self) -> dict[str, Any]:
        context: dict[str, Any] = super().get_serializer_context()  # type: ignore[misc]
        context["project"] = key_project(self.request)  # type: ignore[attr-defined]
        return context


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("tag", str, description="Only monitors carrying exactly this tag."),
            OpenApiParameter("status", str, enum=list(MonitorStatus.values)),
            OpenApiParameter("q", str, description="Search name, slug and description."),
        ]
    )
)
class MonitorViewSet(ProjectScopedMixin, viewsets.ModelViewSet[Monitor]):
    serializer_class = MonitorSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Monitor]:
        if getattr(self, "swagger_fake_view", False):
            return Monitor.objects.none()
        project = key_project(self.request)
        if self.action != "list":
            return monitors_for_project(project=project).select_related("trigger")
        filters = MonitorFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return monitors_for_project(project=project, **filters.validated_data).select_related("trigger")

    def _set_trigger(self, serializer: serializers.BaseSerializer[Monitor], trigger: Any) -> None:
        """The `trigger` field (triggers app): a URL trigger's secret is answered this once."""
        assert serializer.instance is not None
        secret = trigger_set(monitor=serializer.instance, spec=trigger)
        if secret:
            # The context is the dict DRF built for this serializer; the stubs type it read-only.
            cast(dict[str, Any], serializer.context)[NEW_SECRET_CONTEXT] = secret

    def perform_create(self, serializer: serializers.BaseSerializer[Monitor]) -> None:
        fields = dict(serializer.validated_data)
        trigger = fields.pop("trigger", None)
        try:
            with transaction.atomic():
                serializer.instance = monitor_create(project=key_project(self.request), **fields)
                self._set_trigger(serializer, trigger)
        except IntegrityError:
            # Another request took the slug or the ping uuid between validation and insert.
            ping_uuid = fields.get("ping_uuid")
            if ping_uuid is not None and Monitor.objects.filter(ping_uuid=ping_uuid).exists():
                raise serializers.ValidationError({"ping_uuid": [PING_UUID_IN_USE]}) from None
            raise serializers.ValidationError(
                {"slug": ["A monitor with this slug already exists."]}
            ) from None

    def perform_update(self, serializer: serializers.BaseSerializer[Monitor]) -> None:
        assert serializer.instance is not None
        fields = dict(serializer.validated_data)
        trigger_given, trigger = "trigger" in fields, fields.pop("trigger", None)
        try:
            with transaction.atomic():
                serializer.instance = monitor_update(monitor=serializer.instance, **fields)
                if trigger_given:
                    self._set_trigger(serializer, trigger)
        except IntegrityError:
            raise serializers.ValidationError(
                {"slug": ["A monitor with this slug already exists."]}
            ) from None

    def perform_destroy(self, instance: Monitor) -> None:
        monitor_delete(monitor=instance)

    @extend_schema(request=PauseSerializer, responses=MonitorSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        monitor = self.get_object()
        body = PauseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        monitor = monitor_pause(monitor=monitor, until=body.validated_data.get("until"))
        return Response(self.get_serializer(monitor).data)

    @extend_schema(request=None, responses=MonitorSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        monitor = monitor_resume(monitor=self.get_object())
        return Response(self.get_serializer(monitor).data)


class ProjectView(APIView):
    @extend_schema(responses=ProjectSerializer)
    def get(self, request: Request) -> Response:
        return Response(ProjectSerializer(key_project(request), context={"request": request}).data)

    @extend_schema(request=ProjectUpdateSerializer, responses=ProjectSerializer)
    def patch(self, request: Request) -> Response:
        body = ProjectUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            project = project_update(project=key_project(request), **body.validated_data)
        except ProjectError as error:
            raise serializers.ValidationError({error.field: [error.message]}) from None
        return Response(ProjectSerializer(project, context={"request": request}).data)


class ApiKeyViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[ApiKey]
):
    """API keys can mint and revoke keys, so a read-only key may not even list them."""

    serializer_class = ApiKeySerializer
    permission_classes = [ReadWriteKeyOnly]

    def get_queryset(self) -> QuerySet[ApiKey]:
        if getattr(self, "swagger_fake_view", False):
            return ApiKey.objects.none()
        return ApiKey.objects.filter(project=key_project(self.request)).order_by("id")

    @extend_schema(responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key, raw_key = api_key_create(
            project=key_project(request),
            name=serializer.validated_data["name"],
            read_only=serializer.validated_data.get("read_only", False),
        )
        created = {field: getattr(api_key, field) for field in ("id", "name", "prefix", "read_only")}
        body = ApiKeyCreatedSerializer({**created, "key": raw_key}).data
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiKey) -> None:
        api_key_revoke(api_key=instance)


class PlainTextRenderer(renderers.BaseRenderer):
    """Lets a scraper that accepts only text/plain through content negotiation."""

    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        detail = data.get("detail", data) if isinstance(data, dict) else data
        return f"{detail}\n".encode()


class AnswerWhateverIsAccepted(DefaultContentNegotiation):
    """Scrapers that ask only for OpenMetrics still get the text format, never a 406."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        choices = list(renderers)
        try:
            return super().select_renderer(request, choices, format_suffix)
        except NotAcceptable:
            return choices[0], choices[0].media_type


class MetricsView(APIView):
    renderer_classes = [renderers.JSONRenderer, PlainTextRenderer]
    content_negotiation_class = AnswerWhateverIsAccepted

    @extend_schema(
        parameters=[
            OpenApiParameter("tag", str, description="Only monitors carrying exactly this tag."),
            OpenApiParameter("format", exclude=True),
        ],
        responses={
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description="Prometheus text exposition format 0.0.4."
            )
        },
    )
    def get(self, request: Request) -> HttpResponse:
        tag = request.query_params.get("tag") or None
        return metrics_response(exposition(project=key_project(request), tag=tag))


@csrf_exempt
def api_not_found(request: HttpRequest, path: str) -> JsonResponse:
    """Unknown URLs under /api/v1/ answer in the API's error shape, not with Django's HTML page.

    CSRF-exempt like every DRF view, or a POST would get the CSRF failure page instead.
    """
    return JsonResponse({"detail": "Not found."}, status=404)
