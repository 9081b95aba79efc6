from django.urls import re_path

from pings.views import malformed_ping_url, ping

SEGMENT = r"[^/]+"

urlpatterns = [
    re_path(rf"^ping/(?P<first>{SEGMENT})/?$", ping),
    re_path(rf"^ping/(?P<first>{SEGMENT})/(?P<second>{SEGMENT})/?$", ping),
    re_path(rf"^ping/(?P<first>{SEGMENT})/(?P<second>{SEGMENT})/(?P<third>{SEGMENT})/?$", ping),
    re_path(r"^ping(?:/.*)?$", malformed_ping_url),
]
