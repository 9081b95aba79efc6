"""`monitors/<id>/runs/` and `monitors/<id>/pings/`: newest first, paginated."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import generics

from monitors.api_views import key_project
from monitors.models import Monitor
from pings.models import Ping, Run
from pings.serializers import PingSerializer, RunSerializer


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
