"""Webhooks: the event JSON, one POST per transition, signed per Standard Webhooks."""

from __future__ import annotations

import json
import time
from typing import Any

from alerts.delivery.senders.base import Message, Outcome, Sender, clean_url_config, post_outcome
from alerts.delivery.signing import signature
from alerts.models import Channel


class WebhookSender(Sender):
    kind = "webhook"

    def clean_config(self, config: object) -> dict[str, Any]:
        return clean_url_config(config)

    def send(self, channel: Channel, message: Message) -> Outcome:
        (event,) = message.events  # webhooks never get digests
        body = json.dumps(event, separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(
                secret=channel.secret, message_id=message.message_id, timestamp=timestamp, body=body
            ),
        }
        return post_outcome(channel.config["url"], body=body, headers=headers)
