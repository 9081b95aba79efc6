"""REST endpoints of Run now: `monitors/<id>/run/`, `monitors/<id>/run-requests/`, `agent/claim/`."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitors.api_auth import ReadWriteKeyOnly
from monitors.api_views import key_project
from monitors.models import ApiKey, Monitor
from triggers.models import RunRequest
from triggers.serializers import ClaimedSerializer, ClaimQuerySerializer, RunRequestSerializer
from triggers.services import NoTrigger, run_request_claim, run_request_create


def _monitor(request: Request, pk: int) -> Monitor:
    return get_object_or_404(Monitor.objects.select_related("project"), id=pk, project=key_project(request))


class MonitorRunNow(APIView):
    @extend_schema(
        request=None,
        responses={
            201: RunRequestSerializer,
            409: OpenApiResponse(description="The monitor has no trigger: `detail` says how to give it one."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        """Run now: ask the monitor's trigger (URL or agent) to start the job, with a fresh rid."""
        monitor = _monitor(request, pk)
        api_key: ApiKey = request.auth  # type: ignore[assignment]
        try:
            run_request = run_request_create(monitor=monitor, requested_by=api_key.name)
        except NoTrigger as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(RunRequestSerializer(run_request).data, status=status.HTTP_201_CREATED)


class MonitorRunRequestList(generics.ListAPIView[RunRequest]):
    """The monitor's Run now requests, newest first, each with its status and delivery attempts."""

    serializer_class = RunRequestSerializer

    def get_queryset(self) -> QuerySet[RunRequest]:
        if getattr(self, "swagger_fake_view", False):
            return RunRequest.objects.none()
        monitor = _monitor(self.request, self.kwargs["pk"])
        return RunRequest.objects.filter(monitor=monitor).prefetch_related("attempts").order_by("-id")


class AgentClaim(APIView):
    """`vigil agent` long-polls here (outbound only): the next pending request of an agent-triggered
    monitor, taken for this agent (→ `sent`), or 204 when none came within `wait` seconds."""

    # Claiming moves a request on: a write, so a read-write key.
    permission_classes = [ReadWriteKeyOnly]

    @extend_schema(
        parameters=[
            OpenApiParameter("wait", float, description="Seconds to wait for a request (0-25, default 25)."),
            OpenApiParameter("slugs", str, description="Comma-separated slugs this agent can run."),
        ],
        responses={200: ClaimedSerializer, 204: OpenApiResponse(description="No request came in time.")},
    )
    def get(self, request: Request) -> Response:
        query = ClaimQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        claimed = run_request_claim(
            project=key_project(request),
            slugs=query.validated_data.get("slugs"),
            wait_seconds=query.validated_data["wait"],
        )
        if claimed is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ClaimedSerializer(claimed).data)
