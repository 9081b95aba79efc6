"""The interface every sender implements, and what goes in and comes out of one send."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from alerts.delivery import http
from alerts.models import Channel


class ConfigError(Exception):
    """A channel config value is not acceptable; `field` names the config key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Message:
    # Receivers deduplicate on it: the same for every attempt of one delivery.
    message_id: str
    # One event payload, or the members of a digest.
    events: list[dict[str, Any]]
    is_digest: bool = False


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str = ""
    # Worth another attempt later (network trouble, 5xx, 429); otherwise final.
    retry: bool = False

    @classmethod
    def ok(cls, status_code: int | None = None) -> Outcome:
        return cls(delivered=True, status_code=status_code)

    @classmethod
    def transient(cls, error: str, status_code: int | None = None) -> Outcome:
        return cls(delivered=False, status_code=status_code, error=error, retry=True)

    @classmethod
    def permanent(cls, error: str, status_code: int | None = None) -> Outcome:
        return cls(delivered=False, status_code=status_code, error=error, retry=False)


class Sender(ABC):
    kind: ClassVar[str]
    # Whether a storm of problems on one channel collapses into a single digest message.
    digests: ClassVar[bool] = False

    @abstractmethod
    def clean_config(self, config: object) -> dict[str, Any]:
        """The config to store, or ConfigError."""

    @abstractmethod
    def send(self, channel: Channel, message: Message) -> Outcome:
        """Send once; never raises for the receiver's or the network's failures."""


def clean_url_config(config: object) -> dict[str, Any]:
    """`{"url": "http(s)://…"}` whose host is not a refused address."""
    if not isinstance(config, dict) or not isinstance(config.get("url"), str) or not config["url"]:
        raise ConfigError("url", "A URL is required.")
    url = config["url"].strip()
    try:
        http.validate_url(url)
    except http.RequestRefused as error:
        raise ConfigError("url", str(error)) from None
    return {"url": url}


def post_outcome(url: str, *, body: bytes, headers: Mapping[str, str]) -> Outcome:
    """POST through the guarded client; 5xx, 429 and network trouble retry, other answers are final."""
    try:
        response = http.post(url, body=body, headers=headers)
    except http.RequestRefused as error:
        return Outcome.permanent(str(error))
    except http.TransportError as error:
        return Outcome.transient(str(error))
    status = response.status
    if 200 <= status < 300:
        return Outcome.ok(status)
    reason = f"HTTP {status}: {response.excerpt()}".rstrip(": ")
    if status >= 500 or status == 429:
        return Outcome.transient(reason, status)
    if 300 <= status < 400:
        return Outcome.permanent(f"HTTP {status}: redirects are not followed", status)
    return Outcome.permanent(reason, status)
