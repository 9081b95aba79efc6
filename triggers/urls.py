from django.urls import URLPattern, path

from triggers.views import run_now_view

urlpatterns: list[URLPattern] = [
    path("monitors/<int:monitor_id>/run/", run_now_view, name="monitor-run-now"),
]
