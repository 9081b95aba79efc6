"""`monitors/<id>/runs/`, `monitors/<id>/pings/`, `monitors/<id>/stats/` and the project's `runs/`."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitors.api_views import key_project
from monitors.models import Monitor
from pings.models import Ping, Run, RunStatus
from pings.selectors import monitor_run_stats, runs_for_project
from pings.serializers import (
    SINCE_HELP,
    FeedRunSerializer,
    MonitorStatsSerializer,
    PingSerializer,
    RunFeedFilterSerializer,
    RunSerializer,
)


class MonitorRunList(generics.ListAPIView[Run]):
    serializer_class = RunSerializer

    def get_queryset(self) -> QuerySet[Run]:
        monitor = get_object_or_404(Monitor, id=self.kwargs["pk"], project=key_project(self.request))
        return Run.objects.filter(monitor=monitor).order_by("-id")


class MonitorPingList(generics.ListAPIView[Ping]):
    serializer_class = PingSerializer

    def get_queryset(self) -> QuerySet[Ping]:
        monitor = get_object_or_404(Monitor, id=self.kwargs["pk"], project=key_project(self.request))
        return Ping.objects.filter(monitor=monitor).order_by("-id")


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=list(RunStatus.values)),
            OpenApiParameter("since", str, description=SINCE_HELP),
            OpenApiParameter(
                "monitor", int, description="Only this monitor's runs (another project's id matches none)."
            ),
            OpenApiParameter("tag", str, description="Only runs of monitors carrying exactly this tag."),
        ],
    )
)
class ProjectRunList(generics.ListAPIView[Run]):
    """Every run of the key's project, across its monitors, in the order they were opened (newest first)."""

    serializer_class = FeedRunSerializer

    def get_queryset(self) -> QuerySet[Run]:
        if getattr(self, "swagger_fake_view", False):
            return Run.objects.none()
        filters = RunFeedFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return runs_for_project(project=key_project(self.request), **filters.validated_data)


class MonitorStats(APIView):
    @extend_schema(responses=MonitorStatsSerializer)
    def get(self, request: Request, pk: int) -> Response:
        """Success rates over 24 hours, 7 and 30 days, duration percentiles, recent failures."""
        monitor = get_object_or_404(Monitor, id=pk, project=key_project(request))
        stats = monitor_run_stats(monitor=monitor, now=timezone.now())
        return Response(MonitorStatsSerializer(stats).data)
