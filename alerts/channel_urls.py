"""Routes of the channel API, included by monitorsite.api_urls at /api/v1/."""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import DefaultRouter

from alerts.channel_api import ChannelViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("channels", ChannelViewSet, basename="channel")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
