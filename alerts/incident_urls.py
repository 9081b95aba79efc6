from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from alerts.incident_api import IncidentViewSet
from alerts.maintenance_api import MaintenanceWindowViewSet

router = SimpleRouter(trailing_slash=True)
router.register("incidents", IncidentViewSet, basename="incident")
router.register("maintenance", MaintenanceWindowViewSet, basename="maintenance")

urlpatterns: list[URLPattern | URLResolver] = list(router.urls)
