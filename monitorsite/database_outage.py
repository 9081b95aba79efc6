"""While the database is unreachable every page answers 503 with a short reason, not Django's
HTML "Server Error (500)": clients (curl --retry, uptime checkers, the API client) then know to
come back, and the error page says what is wrong. The ping view answers its own 503 (its
answers carry ping headers); this middleware covers every other view.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

# What psycopg and sqlite3 raise, through Django, when the server is down, restarting, refusing
# connections or the file is locked: conditions that pass.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
REASON = "database unavailable, try again shortly"

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        logger.warning("%s %s: %s (%s)", request.method, request.path, REASON, str(exception).strip())
        return unavailable_response(api=request.path.startswith("/api/"))


def unavailable_response(*, api: bool) -> HttpResponse:
    """503: JSON in the API's error shape under /api/, short plain text elsewhere."""
    if api:
        response: HttpResponse = JsonResponse({"detail": f"{REASON.capitalize()}."}, status=503)
    else:
        response = HttpResponse(f"{REASON}\n", status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
