"""A request whose body stopped arriving is the client's fault: 400, not a 500.

The web server drops a client that sends nothing for its timeout (monitorsite/gunicorn_worker.py);
a view reading the body then gets Django's UnreadablePostError.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, UnreadablePostError


def body_not_received(error: UnreadablePostError) -> str:
    """The 400's reason, for the site's pages here and for ping answers (pings.views)."""
    return f"request body not received: {error}"


class UnreadableBodyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UnreadablePostError):
            return HttpResponse(
                body_not_received(exception),
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        return None
