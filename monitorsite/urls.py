from django.contrib import admin
from django.urls import include, path

from monitorsite.health import healthz

urlpatterns = [
    path("", include("pings.urls")),
    path("healthz", healthz),
    path("", include("monitors.public_urls")),
    path("api/v1/", include("monitorsite.api_urls")),
    path("admin/", admin.site.urls),
    path("", include("monitors.urls")),
    path("", include("triggers.urls")),
]
