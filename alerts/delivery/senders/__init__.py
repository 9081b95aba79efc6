"""One sender per channel kind, all behind the Sender interface."""

from __future__ import annotations

from alerts.delivery.senders.apprise import AppriseSender
from alerts.delivery.senders.base import ConfigError, Message, Outcome, Sender
from alerts.delivery.senders.email import EmailSender
from alerts.delivery.senders.slack import SlackSender
from alerts.delivery.senders.webhook import WebhookSender

SENDERS: dict[str, Sender] = {
    sender.kind: sender for sender in (EmailSender(), SlackSender(), WebhookSender(), AppriseSender())
}

# Kinds whose problem storms collapse into one digest message.
DIGEST_KINDS = frozenset(kind for kind, sender in SENDERS.items() if sender.digests)


def sender_for(kind: str) -> Sender:
    return SENDERS[kind]


__all__ = ["DIGEST_KINDS", "SENDERS", "ConfigError", "Message", "Outcome", "Sender", "sender_for"]
