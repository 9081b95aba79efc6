"""Apprise URLs (ntfy, Telegram, Discord, …), only when settings.APPRISE_ENABLED.

Apprise makes its own connections, so this sender BYPASSES our address guard
(alerts.delivery.http): an Apprise URL may reach private and loopback addresses.
That is why it is off unless the operator turns it on.
"""

from __future__ import annotations

import logging
from typing import Any

from django.template.loader import render_to_string

from alerts.delivery import render
from alerts.delivery.senders.base import ConfigError, Message, Outcome, Sender
from alerts.models import Channel
from monitorsite.storable import is_storable_text


class AppriseSender(Sender):
    kind = "apprise"

    def clean_config(self, config: object) -> dict[str, Any]:
        import apprise  # Imported on use: a heavy import that most installs never need.

        url = config.get("url") if isinstance(config, dict) else None
        if not isinstance(url, str) or not url.strip():
            raise ConfigError("url", "An Apprise URL is required.")
        if not is_storable_text(url):
            raise ConfigError("url", "not a valid URL: it holds a NUL or a lone surrogate character")
        if not apprise.Apprise().add(url.strip()):
            raise ConfigError("url", "Apprise does not understand this URL.")
        return {"url": url.strip()}

    def send(self, channel: Channel, message: Message) -> Outcome:
        import apprise

        (event,) = message.events  # storms collapse into digests for e-mail and Slack only
        summary = render.summarize(event)
        notifier = apprise.Apprise()
        if not notifier.add(channel.config["url"]):
            return Outcome.permanent("Apprise does not understand this URL.")
        with apprise.LogCapture(level=logging.WARNING) as log:
            body = render_to_string("alerts/summary.txt", {"summary": summary})
            delivered = notifier.notify(title=summary.subject, body=body)
        if delivered:
            return Outcome.ok()
        lines = [line for line in log.getvalue().splitlines() if line.strip()]
        return Outcome.transient(lines[-1] if lines else "Apprise reported a failure.")
