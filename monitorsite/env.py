"""Settings from the environment, read strictly: a value that cannot be parsed stops start-up.

Every reader names the variable in its error, and any variable may instead be read from the
file that `<NAME>_FILE` names (Docker and Kubernetes secrets). Values of secrets are never
repeated in an error message.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
DATABASE_SCHEMES = ("postgres", "postgresql", "sqlite")
REDIS_SCHEMES = ("redis", "rediss", "unix")


class EnvError(ImproperlyConfigured):
    """A setting in the environment that cannot be used; the message names the variable."""


def envstr(name: str, default: str = "") -> str:
    """NAME, or the contents of the file named by NAME_FILE (surrounding whitespace dropped)."""
    file_path = os.environ.get(f"{name}_FILE", "")
    value = os.environ.get(name, "")
    if file_path and value:
        raise EnvError(f"{name} and {name}_FILE are both set: set only one of them")
    if file_path:
        try:
            content = Path(file_path).read_text().strip()
        except (OSError, UnicodeDecodeError) as error:
            raise EnvError(f"{name}_FILE={file_path}: cannot be read ({error})") from None
        if not content:
            raise EnvError(f"{name}_FILE={file_path}: the file is empty")
        return content
    return value if value != "" else default


def envbool(name: str, default: bool) -> bool:
    raw = envstr(name)
    if raw == "":
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise EnvError(f"{name}={raw!r} is not a boolean: use true or false (or 1/0, yes/no, on/off)")


def envint(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = envstr(name)
    if raw == "":
        return default
    return _integer(name, raw, minimum=minimum, maximum=maximum)


def envints(name: str, default: Sequence[int], *, minimum: int | None = None) -> list[int]:
    """A comma-separated list of integers, at least one."""
    raw = envstr(name)
    if raw == "":
        return list(default)
    items = [item.strip() for item in raw.split(",")]
    if not all(items):
        raise EnvError(f"{name}={raw!r} is not a comma-separated list of integers")
    return [_integer(name, item, minimum=minimum, maximum=None) for item in items]


def envlist(name: str, default: Sequence[str] = ()) -> list[str]:
    """A comma-separated list of words; empty items are dropped."""
    raw = envstr(name)
    if raw == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def envchoice(name: str, default: str, choices: Sequence[str]) -> str:
    raw = envstr(name)
    if raw == "":
        return default
    if raw not in choices:
        raise EnvError(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return raw


def envurl(name: str, default: str) -> str:
    """An http:// or https:// base URL with a host and no trailing slash."""
    raw = envstr(name, default)
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError as error:
        raise EnvError(f"{name}={raw!r} is not a URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in raw):
        raise EnvError(f"{name}={raw!r} is not an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise EnvError(f"{name}={raw!r} must be a base URL, without a query or fragment")
    return raw.rstrip("/")


def envnetworks(name: str) -> tuple[IPNetwork, ...]:
    """Addresses and CIDR networks, separated by commas or spaces: `10.0.0.1, 172.16.0.0/12, ::1`."""
    networks: list[IPNetwork] = []
    for entry in envstr(name).replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError as error:
            raise EnvError(
                f"{name}: {entry!r} is not an IP address or network ({error}); "
                "write addresses and CIDR networks such as 10.0.0.1, 172.16.0.0/12 or fd00::/8"
            ) from None
    return tuple(networks)


def envheader(name: str) -> tuple[str, str] | None:
    """`Header-Name: value` as Django's SECURE_PROXY_SSL_HEADER pair (`HTTP_HEADER_NAME`, value)."""
    raw = envstr(name)
    if raw == "":
        return None
    header, separator, value = raw.partition(":")
    header, value = header.strip(), value.strip()
    if not separator or not header or not value or not all(c.isalnum() or c == "-" for c in header):
        raise EnvError(f"{name}={raw!r} is not 'Header-Name: value', e.g. 'X-Forwarded-Proto: https'")
    return "HTTP_" + header.upper().replace("-", "_"), value


def envdatabase(name: str) -> dict[str, Any] | None:
    """A database URL as Django's DATABASES entry; None when unset. The URL holds a password,
    so errors describe it without repeating it."""
    raw = envstr(name)
    if raw == "":
        return None
    scheme = raw.partition("://")[0]
    if scheme not in DATABASE_SCHEMES:
        raise EnvError(
            f"{name} must start with postgres:// (or sqlite://), e.g. postgres://user:password@host:5432/name"
        )
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 (parsing the port is the check)
        database: dict[str, Any] = dict(dj_database_url.parse(raw, conn_max_age=600))
    except ValueError:
        raise EnvError(
            f"{name} is not a valid database URL: expected postgres://user:password@host:5432/name "
            "(a port must be a number; special characters in the password must be %-encoded)"
        ) from None
    if scheme != "sqlite" and (not parts.hostname or not database.get("NAME")):
        raise EnvError(f"{name} needs a host and a database name: postgres://user:password@host:5432/name")
    return database


def envredis(name: str) -> str:
    """A Redis URL, or "" when unset."""
    raw = envstr(name)
    if raw == "":
        return ""
    scheme = raw.partition("://")[0]
    try:
        urlsplit(raw).port  # noqa: B018 (parsing the port is the check)
    except ValueError:
        scheme = ""
    if scheme not in REDIS_SCHEMES:
        raise EnvError(f"{name} is not a Redis URL: expected redis://host:6379/0 (or rediss://, unix://)")
    return raw


def _integer(name: str, raw: str, *, minimum: int | None, maximum: int | None) -> int:
    text = raw.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()):
        raise EnvError(f"{name}={raw!r} is not a whole number")
    value = int(text)
    if minimum is not None and value < minimum:
        raise EnvError(f"{name}={raw!r} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise EnvError(f"{name}={raw!r} must be at most {maximum}")
    return value
