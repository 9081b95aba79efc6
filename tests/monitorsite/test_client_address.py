"""monitorsite.client_address: X-Forwarded-For believed only from TRUSTED_PROXIES, right to left."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from django.test import Client

from monitors.models import Monitor
from monitorsite.client_address import client_address, parse_address
from pings.models import Ping

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:ffff::/48"))


def address(peer: str, forwarded: str | None = None, proxies: Any = PROXIES) -> str:
    meta = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(meta, proxies)


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # An untrusted peer's header is ignored, whatever it says.
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),
        ("203.0.113.9", "10.0.0.1, 1.2.3.4", "203.0.113.9"),
        # A trusted peer: the rightmost address that is not a trusted proxy.
        ("10.0.0.1", "1.2.3.4", "1.2.3.4"),
        ("10.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # 6.6.6.6 is the client's own claim
        ("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.7", "1.2.3.4"),
        ("10.0.0.1", "1.2.3.4,10.9.9.9 ,  10.0.0.2", "1.2.3.4"),
        # Ports dropped; IPv6 in brackets or bare; IPv4-mapped IPv6 is IPv4.
        ("10.0.0.1", "1.2.3.4:5678", "1.2.3.4"),
        ("10.0.0.1", "[2001:db8::1]:443", "2001:db8::1"),
        ("10.0.0.1", "[2001:db8::1]", "2001:db8::1"),
        ("10.0.0.1", "2001:db8::1", "2001:db8::1"),
        ("10.0.0.1", "::ffff:1.2.3.4", "1.2.3.4"),
        ("::ffff:10.0.0.1", "1.2.3.4", "1.2.3.4"),
        ("2001:db8:ffff::5", "[2001:db8::7]:80, [2001:db8:ffff::9]:8080", "2001:db8::7"),
        # Every hop trusted: the leftmost one is as far as we can see.
        ("10.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"),
        # No header, or an empty one: the peer.
        ("10.0.0.1", None, "10.0.0.1"),
        ("10.0.0.1", "", "10.0.0.1"),
        # A hop that is no address ends the walk at the last trusted proxy.
        ("10.0.0.1", "1.2.3.4, garbage", "10.0.0.1"),
        ("10.0.0.1", "1.2.3.4, unknown, 10.0.0.2", "10.0.0.2"),
        ("10.0.0.1", "1.2.3.4:99999", "10.0.0.1"),
        ("10.0.0.1", "1.2.3.4\x00", "10.0.0.1"),
        ("10.0.0.1", "[1.2.3.4", "10.0.0.1"),
    ],
)
def test_the_client_is_found_right_to_left_past_trusted_proxies(
    peer: str, forwarded: str | None, expected: str
) -> None:
    assert address(peer, forwarded) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert address("10.0.0.1", "1.2.3.4", proxies=()) == "10.0.0.1"


@pytest.mark.parametrize("peer", ["", "unix:/run/gunicorn.sock", "not an address"])
def test_a_peer_that_is_no_address_is_unknown(peer: str) -> None:
    assert address(peer, "1.2.3.4") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.2.3.4", "1.2.3.4"), ("1.2.3.4:80", "1.2.3.4"), ("[::1]:80", "::1"), ("fe80::1%eth0", "fe80::1")],
)
def test_addresses_are_read_as_proxies_write_them(text: str, expected: str) -> None:
    assert str(parse_address(text)) == expected


@pytest.mark.django_db
def test_the_ping_stores_the_address_of_the_client_behind_a_trusted_proxy(
    client: Client, monitor: Monitor, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("127.0.0.1/32"),)
    response = client.get(f"/ping/{monitor.ping_uuid}", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7:4242")
    assert response.status_code == 200
    assert Ping.objects.get(monitor=monitor).remote_addr == "198.51.100.7"


@pytest.mark.django_db
def test_the_ping_ignores_x_forwarded_for_by_default(client: Client, monitor: Monitor) -> None:
    client.get(f"/ping/{monitor.ping_uuid}", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert Ping.objects.get(monitor=monitor).remote_addr == "127.0.0.1"
