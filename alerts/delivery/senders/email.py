"""E-mail over SMTP with Django's EMAIL_* settings: a text part and an HTML part, same content."""

from __future__ import annotations

import smtplib
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string

from alerts.delivery import render
from alerts.delivery.senders.base import ConfigError, Message, Outcome, Sender
from alerts.models import Channel

MAX_RECIPIENTS = 50


class EmailSender(Sender):
    kind = "email"
    digests = True

    def clean_config(self, config: object) -> dict[str, Any]:
        to = config.get("to") if isinstance(config, dict) else None
        if not isinstance(to, list) or not to or not all(isinstance(address, str) for address in to):
            raise ConfigError("to", "A list of one or more e-mail addresses.")
        if len(to) > MAX_RECIPIENTS:
            raise ConfigError("to", f"At most {MAX_RECIPIENTS} addresses.")
        addresses = [address.strip() for address in to]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ConfigError("to", f"{address!r} is not a valid e-mail address.") from None
        return {"to": addresses}

    def send(self, channel: Channel, message: Message) -> Outcome:
        mail = compose(message, to=channel.config["to"])
        try:
            mail.send()
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            text = "; ".join(
                f"{address}: {code} {_words(reply)}" for address, (code, reply) in error.recipients.items()
            )
            if all(code >= 500 for code in codes):
                return Outcome.permanent(f"recipients refused: {text}")
            return Outcome.transient(f"recipients deferred: {text}")
        except smtplib.SMTPResponseException as error:
            text = f"SMTP {error.smtp_code}: {_words(error.smtp_error)}"
            return Outcome.permanent(text) if error.smtp_code >= 500 else Outcome.transient(text)
        except (smtplib.SMTPException, OSError) as error:
            return Outcome.transient(f"{type(error).__name__}: {error}")
        return Outcome.ok()


def compose(message: Message, *, to: list[str]) -> EmailMultiAlternatives:
    context: dict[str, object]
    if message.is_digest:
        digest = render.digest(message.events)
        subject, template, context = digest.subject, "alerts/digest", {"digest": digest}
    else:
        summary = render.summarize(message.events[0])
        subject, template, context = summary.subject, "alerts/summary", {"summary": summary}
    mail = EmailMultiAlternatives(
        # A line break in a monitor name would make an invalid header.
        subject=" ".join(subject.split()),
        body=render_to_string(f"{template}.txt", context),
        to=to,
        headers={"X-Vigil-Message-Id": message.message_id},
    )
    mail.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return mail


def _words(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
