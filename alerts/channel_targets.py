"""Where a channel sends, as lists show it: with the secret parts masked.

A Slack incoming-webhook URL is itself the credential, a webhook URL often carries a token
in its path or query, and an Apprise URL keeps tokens in its host part. Lists show the
scheme and host of http(s) URLs and only the scheme of the others; e-mail addresses whole.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from alerts.models import Channel, ChannelKind

MASK = "…"


def masked_target(channel: Channel) -> str:
    if channel.kind == ChannelKind.EMAIL:
        return ", ".join(str(address) for address in channel.config.get("to", []))
    return masked_url(str(channel.config.get("url", "")))


def masked_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return MASK
    if parts.scheme in ("http", "https") and parts.hostname:
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        shown = f"{parts.scheme}://{host}{f':{port}' if port else ''}"
        return f"{shown}/{MASK}" if (parts.path.strip("/") or parts.query) else shown
    return f"{parts.scheme}://{MASK}" if parts.scheme else MASK
