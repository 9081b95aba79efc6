"""The address of the client behind a request, believing X-Forwarded-For only from TRUSTED_PROXIES.

Each proxy appends the address it received the request from, so the list is read right to
left: past every trusted proxy, the first address that is not one is the client. Anyone can
send an X-Forwarded-For header, so without a trusted direct peer it is ignored entirely.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(meta: Mapping[str, object], trusted: Sequence[IPNetwork] | None = None) -> str:
    """The client's address as text ("" when unknown), from a request's META."""
    proxies = settings.TRUSTED_PROXIES if trusted is None else trusted
    peer = parse_address(str(meta.get("REMOTE_ADDR") or ""))
    if peer is None:
        return ""
    if not proxies or not _is_trusted(peer, proxies):
        return str(peer)
    address = peer
    hops = str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",")
    for hop in reversed(hops):
        forwarded = parse_address(hop)
        if forwarded is None:
            # A hop we cannot read ends the walk: the last proxy we trust is all we know.
            break
        address = forwarded
        if not _is_trusted(forwarded, proxies):
            break
    return str(address)


def is_trusted_peer(meta: Mapping[str, object], trusted: Sequence[IPNetwork] | None = None) -> bool:
    """Whether the request's direct peer is one of TRUSTED_PROXIES."""
    proxies = settings.TRUSTED_PROXIES if trusted is None else trusted
    peer = parse_address(str(meta.get("REMOTE_ADDR") or ""))
    return peer is not None and bool(proxies) and _is_trusted(peer, proxies)


def parse_address(text: str) -> IPAddress | None:
    """An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`."""
    text = text.strip()
    if text.startswith("["):
        text, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and _is_port(rest[1:]))):
            return None
    elif text.count(":") == 1:
        text, _, port = text.partition(":")
        if not _is_port(port):
            return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            address = ipaddress.IPv6Address(text.split("%", 1)[0])
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
    return address


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 5 and int(text) <= 65535


def _is_trusted(address: IPAddress, proxies: Sequence[IPNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)
