"""monitorsite.proxy_scheme: the proxy's https header counts only from TRUSTED_PROXIES."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import Client, override_settings

HTTPS_BEHIND_PROXY = {
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_SSL_REDIRECT": True,
}


def _sign_in_page(peer: str) -> int:
    # A fresh Client builds the middleware chain under the overridden settings.
    response = Client(REMOTE_ADDR=peer).get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    return response.status_code


@pytest.mark.django_db
@override_settings(**HTTPS_BEHIND_PROXY, TRUSTED_PROXIES=(ipaddress.ip_network("10.0.0.0/8"),))
def test_https_header_from_a_trusted_proxy_is_believed() -> None:
    assert _sign_in_page("10.1.2.3") == 200


@pytest.mark.django_db
@override_settings(**HTTPS_BEHIND_PROXY, TRUSTED_PROXIES=(ipaddress.ip_network("10.0.0.0/8"),))
def test_https_header_from_anyone_else_is_dropped() -> None:
    # Straight to the server round the proxy: still plain http, so redirected to https.
    assert _sign_in_page("203.0.113.9") == 301


@pytest.mark.django_db
@override_settings(**HTTPS_BEHIND_PROXY, TRUSTED_PROXIES=())
def test_without_trusted_proxies_the_operator_vouches_for_the_header() -> None:
    assert _sign_in_page("203.0.113.9") == 200
