from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from monitors.api_views import ApiKeyViewSet, MetricsView, MonitorViewSet, ProjectView, api_not_found
from monitors.audit_api import AuditEntryList
from pings.api_views import MonitorPingList, MonitorRunList, MonitorStats, ProjectRunList
from triggers.api import AgentClaim, MonitorRunNow, MonitorRunRequestList

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("monitors", MonitorViewSet, basename="monitor")
router.register("keys", ApiKeyViewSet, basename="apikey")
# The documentation pages render HTML templates only: an OPTIONS answer (DRF's metadata) has
# no template, so they answer GET and HEAD alone.
PAGE_METHODS = ["get", "head"]

urlpatterns = [
    path("monitors/<int:pk>/runs/", MonitorRunList.as_view(), name="monitor-runs"),
    path("monitors/<int:pk>/pings/", MonitorPingList.as_view(), name="monitor-pings"),
    path("monitors/<int:pk>/stats/", MonitorStats.as_view(), name="monitor-stats"),
    path("monitors/<int:pk>/run/", MonitorRunNow.as_view(), name="monitor-run"),
    path("monitors/<int:pk>/run-requests/", MonitorRunRequestList.as_view(), name="monitor-run-requests"),
    path("agent/claim/", AgentClaim.as_view(), name="agent-claim"),
    path("runs/", ProjectRunList.as_view(), name="runs"),
    path("project/", ProjectView.as_view(), name="project"),
    path("audit/", AuditEntryList.as_view(), name="audit"),
    path("metrics/", MetricsView.as_view(), name="metrics"),
    path(
        "schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"
    ),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(
            url_name="schema",
            authentication_classes=[],
            permission_classes=[],
            http_method_names=PAGE_METHODS,
        ),
        name="swagger-ui",
    ),
    path(
        "redoc/",
        SpectacularRedocView.as_view(
            url_name="schema",
            template_name="api/redoc.html",
            authentication_classes=[],
            permission_classes=[],
            http_method_names=PAGE_METHODS,
        ),
        name="redoc",
    ),
    path("", include("alerts.channel_urls")),
    path("", include("alerts.incident_urls")),
    path("", include(router.urls)),
    # Last: only paths ending in "/", so a missing trailing slash still gets APPEND_SLASH's redirect.
    re_path(r"^(?P<path>.*/)$", api_not_found),
]
