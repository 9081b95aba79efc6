"""The baseline for bench/ping_throughput.sh: the least a Django app can do for a ping.

No middleware, no database, no installed apps; `/ping/<uuid>` answers "OK". Served with the
same gunicorn command as Vigil:

    .venv/bin/gunicorn bench.hello_app:application -w 2 -b 127.0.0.1:8001
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-hello-app-not-secret",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_TZ=True,
)


def ping(request: HttpRequest, ping_uuid: uuid.UUID) -> HttpResponse:
    return HttpResponse("OK")


urlpatterns = [path("ping/<uuid:ping_uuid>", ping)]

application = get_wsgi_application()
