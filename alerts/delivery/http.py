"""The one HTTP client for Slack and webhooks: SSRF-guarded, bounded in time and size.

The guard checks the address actually connected: the host is resolved once, every
resolved address is checked, and the socket goes to that exact address while the Host
header and TLS SNI still name the host. A DNS answer that changes between the check and
the connection (rebinding) therefore never reaches a private address.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.conf import settings

from monitorsite.storable import is_storable_text

TIMEOUT_SECONDS = 10
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "Vigil-Notifications/1.0"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Spaces, control characters and DEL belong in no URL (http.client refuses them too).
_NOT_IN_URL = re.compile(r"[\x00-\x20\x7f]")
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# IPv6 prefixes that carry an IPv4 address in their low 32 bits and reach it by translation.
_NAT64_PREFIXES = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/96"))
# ISATAP interface identifiers (RFC 5214): 0000:5efe or 0200:5efe, then the IPv4 address.
_ISATAP_MASK, _ISATAP_ID = 0xFDFFFFFF, 0x00005EFE

# In order: the first that applies names the refusal.
_REFUSED_RANGES: tuple[tuple[str, str], ...] = (
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_unspecified", "an unspecified address"),
    ("is_reserved", "a reserved address"),
    ("is_private", "a private address"),
)


class RequestRefused(Exception):
    """The URL, or an address its host resolves to, is not allowed. Permanent."""


class TransportError(Exception):
    """No answer: DNS, connection, TLS or timeout trouble. Worth retrying."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class Response:
    status: int
    # At most MAX_RESPONSE_BYTES; receivers' answers only matter for error messages.
    body: bytes

    def excerpt(self, limit: int = 200) -> str:
        return self.body[:limit].decode("utf-8", "replace").strip()


def parse_url(url: str) -> Target:
    if not is_storable_text(url):
        raise RequestRefused("not a valid URL: it holds a NUL or a lone surrogate character")
    if _NOT_IN_URL.search(url):
        raise RequestRefused("not a valid URL: it holds a space or a control character")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RequestRefused(f"not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise RequestRefused("only http:// and https:// URLs are allowed")
    if not parts.hostname:
        raise RequestRefused("the URL has no host")
    host = _host(parts.hostname)
    # The request line is ASCII: other characters of the path go percent-encoded.
    path = _NON_ASCII.sub(lambda match: quote(match.group()), parts.path or "/")
    query = _NON_ASCII.sub(lambda match: quote(match.group()), parts.query)
    return Target(
        parts.scheme,
        host,
        port or (443 if parts.scheme == "https" else 80),
        path + (f"?{query}" if query else ""),
    )


def _host(hostname: str) -> str:
    """An IP address, or a DNS name in its ASCII (IDNA) form, as Host header and SNI need it."""
    try:
        return str(ipaddress.ip_address(hostname))
    except ValueError:
        pass
    try:
        host = hostname.encode("idna").decode("ascii")
    except UnicodeError:
        host = ""
    if not _HOST_NAME.fullmatch(host):
        raise RequestRefused(f"not a valid host name: {hostname!r}")
    return host


def refusal(address: IPAddress) -> str | None:
    """Why connecting to `address` is refused, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        else:
            for form, embedded in embedded_ipv4(address):
                reason = refusal(embedded)
                if reason:
                    return f"{embedded} via {form}, {reason}"
    for attribute, words in _REFUSED_RANGES:
        if getattr(address, attribute):
            return words
    return None if address.is_global else "not a public address"


def embedded_ipv4(address: ipaddress.IPv6Address) -> Iterator[tuple[str, ipaddress.IPv4Address]]:
    """IPv4 addresses that a packet to `address` may end up reaching through a transition
    mechanism (6to4, Teredo, NAT64, ISATAP, IPv4-compatible), each with the mechanism's name."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        yield "6to4", address.sixtofour
    if address.teredo is not None:
        server, client = address.teredo
        yield "Teredo", server
        yield "Teredo", client
    if any(address in prefix for prefix in _NAT64_PREFIXES):
        yield "NAT64", low32
    if (int(address) >> 32) & _ISATAP_MASK == _ISATAP_ID:
        yield "ISATAP", low32
    if int(address) >> 32 == 0 and int(address) > 1:
        yield "IPv4-compatible", low32


def check_address(address: str) -> None:
    if settings.WEBHOOKS_ALLOW_PRIVATE_IPS:
        return
    reason = refusal(ipaddress.ip_address(address.split("%", 1)[0]))
    if reason:
        raise RequestRefused(f"refused: {address} is {reason} (WEBHOOKS_ALLOW_PRIVATE_IPS is off)")


def resolve(target: Target) -> list[str]:
    """Every address of the host, each checked; refused if any one is not allowed."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise TransportError(f"could not resolve {target.host}: {error}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        check_address(address)
    return addresses


def validate_url(url: str) -> None:
    """For channel forms: a bad scheme or a refused address is an error now.

    A host that does not resolve yet is accepted; it is checked again on every send.
    """
    target = parse_url(url)
    try:
        resolve(target)
    except TransportError:
        return


def post(url: str, *, body: bytes, headers: Mapping[str, str]) -> Response:
    """POST once, following no redirect, within TIMEOUT_SECONDS in all."""
    return _request("POST", url, body=body, headers=headers, max_bytes=MAX_RESPONSE_BYTES)


def get(url: str, *, headers: Mapping[str, str], max_bytes: int = MAX_RESPONSE_BYTES) -> Response:
    """GET once, following no redirect, within TIMEOUT_SECONDS in all, for a URL a user typed
    (the web UI's Healthchecks import); an answer longer than `max_bytes` is cut there."""
    return _request("GET", url, body=None, headers=headers, max_bytes=max_bytes)


def _request(
    method: str, url: str, *, body: bytes | None, headers: Mapping[str, str], max_bytes: int
) -> Response:
    target = parse_url(url)
    addresses = resolve(target)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    last_error: OSError | None = None
    for address in addresses:
        try:
            connection = _connection(target, address, timeout=_remaining(deadline))
            connection.connect()
        except OSError as error:  # includes timeouts and TLS failures
            last_error = error
            continue
        try:
            return _exchange(connection, target, method, body, headers, deadline, max_bytes)
        finally:
            connection.close()
    raise TransportError(f"could not connect to {target.host}:{target.port}: {last_error}")


def _exchange(
    connection: http.client.HTTPConnection,
    target: Target,
    method: str,
    body: bytes | None,
    headers: Mapping[str, str],
    deadline: float,
    max_bytes: int,
) -> Response:
    try:
        connection.request(method, target.path, body=body, headers={"User-Agent": USER_AGENT, **headers})
        _set_timeout(connection, deadline)
        response = connection.getresponse()
        received = bytearray()
        while len(received) < max_bytes:
            _set_timeout(connection, deadline)
            chunk = response.read1(max_bytes - len(received))
            if not chunk:
                break
            received += chunk
    except TimeoutError:
        raise TransportError(f"timed out after {TIMEOUT_SECONDS} s") from None
    except (OSError, http.client.HTTPException) as error:
        raise TransportError(f"{type(error).__name__}: {error}") from None
    return Response(response.status, bytes(received))


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    return remaining


def _set_timeout(connection: http.client.HTTPConnection, deadline: float) -> None:
    if connection.sock is not None:
        connection.sock.settimeout(_remaining(deadline))


def _connection(target: Target, address: str, *, timeout: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return _PinnedHTTPSConnection(target.host, target.port, address=address, timeout=timeout)
    return _PinnedHTTPConnection(target.host, target.port, address=address, timeout=timeout)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a checked address; Host still names the URL's host."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to a checked address; SNI and certificate checks use the URL's host."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)
