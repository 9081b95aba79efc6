"""Unauthenticated read-only URLs at the site root: status, badges and metrics by project key."""

from django.urls import URLPattern, URLResolver, path, re_path

from monitors.badges import monitor_badge, project_badge
from monitors.metrics import metrics_by_status_key
from monitors.status_views import project_status

KEY = r"(?P<badge_key>[A-Za-z0-9_-]+)"

urlpatterns: list[URLPattern | URLResolver] = [
    path("status/<str:status_key>/", project_status, name="project-status"),
    re_path(rf"^badge/{KEY}/(?P<slug>[a-z0-9_-]+)\.svg$", monitor_badge, name="monitor-badge"),
    re_path(rf"^badge/{KEY}\.svg$", project_badge, name="project-badge"),
    re_path(r"^metrics/(?P<status_key>[A-Za-z0-9_-]+)/?$", metrics_by_status_key, name="project-metrics"),
]
