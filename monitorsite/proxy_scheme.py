"""The TLS-terminating proxy's "this was https" header is believed only from TRUSTED_PROXIES.

Django takes SECURE_PROXY_SSL_HEADER from whoever sends it. When TRUSTED_PROXIES names where
the proxy connects from, a request from anywhere else (a client reaching the server directly,
round the proxy) has that header removed before Django reads it, so it cannot pass a plain
http request off as https (secure cookies, CSRF's https referer check, no redirect).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from monitorsite.client_address import is_trusted_peer


class ProxySchemeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        header = settings.SECURE_PROXY_SSL_HEADER
        # Without TRUSTED_PROXIES the operator vouches for the proxy (Django's own rule).
        self.header = header[0] if header and settings.TRUSTED_PROXIES else None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.header and self.header in request.META and not is_trusted_peer(request.META):
            del request.META[self.header]
        return self.get_response(request)
