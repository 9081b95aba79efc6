"""The guarded HTTP client: schemes, refused addresses, pinning, redirects, size and time limits."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from alerts.delivery import http
from alerts.delivery.senders.base import post_outcome
from tests.alerts.loopback import HttpReceiver, Reply


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("192.168.0.10", "a private address"),
        ("fd00::1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "not a public address"),
        ("93.184.216.34", None),
        ("2606:2800:220:1::1", None),
    ],
)
def test_addresses_are_classified(address: str, reason: str | None) -> None:
    assert http.refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://x", "example.com/hook"]
)
def test_only_http_and_https_urls_are_allowed(url: str) -> None:
    with pytest.raises(http.RequestRefused, match="only http:// and https://"):
        http.parse_url(url)


def test_loopback_is_refused_before_connecting(receiver: HttpReceiver, settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = False
    with pytest.raises(http.RequestRefused, match=r"^refused: 127\.0\.0\.1 is a loopback address"):
        http.post(receiver.url, body=b"{}", headers={})
    assert receiver.requests == []


def test_a_name_that_resolves_to_loopback_is_refused(receiver: HttpReceiver, settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = False
    with pytest.raises(http.RequestRefused, match="is a loopback address"):
        http.post(f"http://localhost:{receiver.port}/hook", body=b"{}", headers={})
    assert receiver.requests == []


@pytest.mark.usefixtures("allow_private")
def test_the_checked_address_is_the_one_connected(receiver: HttpReceiver, monkeypatch: Any) -> None:
    """Resolved once: a rebinding DNS answer later on never gets a say."""
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding_dns(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.test":
            lookups.append(host)
            if len(lookups) > 1:
                raise AssertionError("resolved twice")
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    response = http.post(f"http://hooks.test:{receiver.port}/hook", body=b"{}", headers={})

    assert response.status == 200
    assert lookups == ["hooks.test"]
    assert receiver.requests[0].headers["host"] == f"hooks.test:{receiver.port}"


@pytest.mark.usefixtures("allow_private")
def test_redirects_are_not_followed(receiver: HttpReceiver) -> None:
    receiver.script(Reply(302, b"", headers=(("Location", "http://169.254.169.254/latest"),)))
    outcome = post_outcome(receiver.url, body=b"{}", headers={})
    assert not outcome.delivered
    assert not outcome.retry
    assert outcome.error == "HTTP 302: redirects are not followed"
    assert len(receiver.requests) == 1


@pytest.mark.usefixtures("allow_private")
def test_the_response_body_read_is_capped(receiver: HttpReceiver) -> None:
    receiver.script(Reply(200, b"x" * (1024 * 1024)))
    response = http.post(receiver.url, body=b"{}", headers={})
    assert len(response.body) == http.MAX_RESPONSE_BYTES


@pytest.mark.usefixtures("allow_private")
def test_a_slow_receiver_times_out_and_is_retried(receiver: HttpReceiver, monkeypatch: Any) -> None:
    monkeypatch.setattr(http, "TIMEOUT_SECONDS", 0.3)
    receiver.script(Reply(200, delay=1.5))
    outcome = post_outcome(receiver.url, body=b"{}", headers={})
    assert outcome.retry
    assert outcome.error == "timed out after 0.3 s"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("2002:7f00:1::", "127.0.0.1 via 6to4, a loopback address"),
        ("2002:c0a8:1::1", "192.168.0.1 via 6to4, a private address"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1 via Teredo, a loopback address"),
        ("2001:0:7f00:1::1", "127.0.0.1 via Teredo, a loopback address"),
        ("64:ff9b::7f00:1", "127.0.0.1 via NAT64, a loopback address"),
        ("64:ff9b:1::a00:1", "10.0.0.1 via NAT64, a private address"),
        ("2606:4700::5efe:7f00:1", "127.0.0.1 via ISATAP, a loopback address"),
        ("2606:4700::200:5efe:a9fe:a9fe", "169.254.169.254 via ISATAP, a link-local address"),
        ("::7f00:1", "127.0.0.1 via IPv4-compatible, a loopback address"),
        ("::ffff:0:7f00:1", "a reserved address"),
        ("64:ff9b::5db8:d822", "a reserved address"),  # NAT64 to a public address: refused all the same
        ("2002:5db8:d822::1", None),  # 6to4 around a public address (93.184.216.34)
    ],
)
def test_ipv6_forms_that_embed_an_ipv4_address_are_judged_by_it(address: str, reason: str | None) -> None:
    assert http.refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://exa mple.com/", "a space or a control character"),
        ("http://example.com/\r\nHost: evil", "a space or a control character"),
        ("http://example.com/\x7f", "a space or a control character"),
        ("http://exa\x00mple.com/", "a NUL or a lone surrogate"),
        ("http://exa\ud800mple.com/", "a NUL or a lone surrogate"),
        ("http:///path", "the URL has no host"),
        ("http://user@/path", "the URL has no host"),
        ("http://exa%00mple.com/", "not a valid host name"),
        ("http://a..b/", "not a valid host name"),
        ("http://[::1/", "not a valid URL"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(http.RequestRefused, match=reason):
        http.parse_url(url)


def test_non_ascii_paths_are_percent_encoded_and_hosts_idna_encoded() -> None:
    target = http.parse_url("https://bücher.example/pfad/ä?q=ü")
    assert (target.host, target.path) == ("xn--bcher-kva.example", "/pfad/%C3%A4?q=%C3%BC")


def test_a_6to4_literal_around_loopback_is_refused_at_connect_time(
    receiver: HttpReceiver, settings: Any
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = False
    with pytest.raises(http.RequestRefused, match=r"refused: 2002:7f00:1:: is 127\.0\.0\.1 via 6to4"):
        http.post(f"http://[2002:7f00:1::]:{receiver.port}/hook", body=b"{}", headers={})
    assert receiver.requests == []


def test_a_name_that_resolves_to_a_6to4_loopback_is_refused_at_connect_time(
    receiver: HttpReceiver, settings: Any, monkeypatch: Any
) -> None:
    """Checked once at save time and again on the address actually connected."""
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = False
    real_getaddrinfo = socket.getaddrinfo

    def six_to_four_dns(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.test":
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2002:7f00:1::", receiver.port, 0, 0))]
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", six_to_four_dns)
    outcome = post_outcome(f"http://hooks.test:{receiver.port}/hook", body=b"{}", headers={})
    assert (outcome.delivered, outcome.retry) == (False, False)
    assert "127.0.0.1 via 6to4, a loopback address" in outcome.error
    assert receiver.requests == []


def test_a_stored_url_with_a_space_fails_its_delivery_instead_of_raising() -> None:
    """Channels saved before URLs were checked this strictly still deliver or fail cleanly."""
    outcome = post_outcome("http://exa mple.com/hook", body=b"{}", headers={})
    assert (outcome.delivered, outcome.retry) == (False, False)
    assert outcome.error == "not a valid URL: it holds a space or a control character"
