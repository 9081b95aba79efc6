"""Slack incoming webhooks: a Block Kit message with a plain "text" fallback."""

from __future__ import annotations

import json
from typing import Any

from alerts.delivery import render
from alerts.delivery.senders.base import Message, Outcome, Sender, clean_url_config, post_outcome
from alerts.models import Channel

# Block Kit limits: header 150 chars, section text 3000, field 2000, 10 fields, 50 blocks.
HEADER_CHARS = 150
SECTION_CHARS = 3000
FIELD_CHARS = 2000
MAX_FIELDS = 10
MAX_DIGEST_SECTIONS = 40

EMOJI = {
    "problem": ":red_circle:",
    "reminder": ":red_circle:",
    "recovered": ":large_green_circle:",
    "test": ":white_check_mark:",
    "flapping_summary": ":large_yellow_circle:",
}


class SlackSender(Sender):
    kind = "slack"
    digests = True

    def clean_config(self, config: object) -> dict[str, Any]:
        return clean_url_config(config)

    def send(self, channel: Channel, message: Message) -> Outcome:
        if message.is_digest:
            body = digest_message(render.digest(message.events))
        else:
            body = single_message(render.summarize(message.events[0]))
        return post_outcome(
            channel.config["url"],
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )


def single_message(summary: render.Summary) -> dict[str, Any]:
    lines = [f"{EMOJI.get(summary.event, '')} *{escape(summary.headline)}*"]
    if summary.url and summary.monitor:
        lines.append(f"<{summary.url}|Open {escape(summary.monitor)} in Vigil>")
    if summary.runbook_url:
        lines.append(f"*Runbook:* {_link(summary.runbook_url, summary.runbook_url)}")
    blocks: list[dict[str, Any]] = [_header(summary.subject), _section("\n".join(lines))]
    if summary.description:
        blocks.append(_section(escape(summary.description)))
    if summary.facts:
        fields = [
            _mrkdwn(f"*{escape(label)}*\n{escape(value)}", FIELD_CHARS) for label, value in summary.facts
        ]
        blocks.append({"type": "section", "fields": fields[:MAX_FIELDS]})
    if summary.meta:
        pairs = "\n".join(f"`{escape(key)}` = {escape(value)}" for key, value in summary.meta)
        blocks.append(_section(f"*Metadata*\n{pairs}"))
    if summary.log_tail:
        code = _code(summary.log_tail)[-(SECTION_CHARS - 40) :]
        blocks.append(_section(f"*Last log lines*\n```{code}```"))
    if summary.url:
        button = {"type": "button", "text": _plain("Open monitor"), "url": summary.url}
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": summary.headline, "blocks": blocks}


def digest_message(digest: render.Digest) -> dict[str, Any]:
    sections: list[str] = []
    current = ""
    for index, item in enumerate(digest.items):
        name = f"<{item.url}|{escape(item.monitor or '')}>" if item.url else escape(item.monitor or "")
        runbook = f" ({_link(item.runbook_url, 'runbook')})" if item.runbook_url else ""
        line = f"• {name}: {escape(item.detail)}{runbook}\n"
        if len(current) + len(line) > SECTION_CHARS:
            sections.append(current)
            current = ""
            if len(sections) == MAX_DIGEST_SECTIONS:
                current = f"…and {len(digest.items) - index} more"
                break
        current += line
    sections.append(current)
    blocks = [_header(digest.subject), *(_section(text) for text in sections if text)]
    return {"text": digest.headline, "blocks": blocks}


def escape(text: str) -> str:
    """Slack's mrkdwn control characters, so a log line cannot forge links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, text: str) -> str:
    """A mrkdwn link: "&" escaped as Slack wants, and "|", "<", ">" (which would end it) percent-encoded."""
    safe_url = url.replace("&", "&amp;").replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe_url}|{escape(text)}>"


def _code(text: str) -> str:
    # A ``` inside the log would end the code block early.
    return escape(text).replace("```", "`\u200b``")


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": _plain(_cut(text, HEADER_CHARS))}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text, SECTION_CHARS)}


def _mrkdwn(text: str, limit: int) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _cut(text, limit)}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
