"""The channels page's form: it parses what was typed and hands it to the API's serializer.

Every rule (a valid address, a URL whose host is no private address, Apprise switched on,
monitors of this project only) lives in `alerts.channel_api.ChannelSerializer` and the
senders' `clean_config`; this form only turns the serializer's errors into field errors.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from alerts.channel_api import ChannelSerializer
from alerts.models import Channel, ChannelKind
from monitors.models import Project

TARGET_LABELS = {
    ChannelKind.EMAIL: "E-mail addresses",
    ChannelKind.SLACK: "Slack incoming-webhook URL",
    ChannelKind.WEBHOOK: "Webhook URL",
    ChannelKind.APPRISE: "Apprise URL",
}
TARGET_HELP = {
    ChannelKind.EMAIL: "One per line, or separated by commas.",
    ChannelKind.SLACK: "From Slack: Apps → Incoming Webhooks, e.g. https://hooks.slack.com/services/…",
    ChannelKind.WEBHOOK: (
        "Vigil POSTs one signed JSON event per change (Standard Webhooks: webhook-id, "
        "webhook-timestamp, webhook-signature)."
    ),
    ChannelKind.APPRISE: "Any URL Apprise understands, e.g. tgram://bot-token/chat-id.",
}
KIND_NAMES = {
    ChannelKind.EMAIL: "E-mail",
    ChannelKind.SLACK: "Slack",
    ChannelKind.WEBHOOK: "Webhook",
    ChannelKind.APPRISE: "Apprise",
}
ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="How alerts and the monitor page name this channel.")
    target = forms.CharField(max_length=2000, strip=True)
    reminder_hours = forms.IntegerField(
        required=False,
        label="Remind every (hours)",
        help_text='While an incident stays open, send a "still down" reminder this often. Empty: never.',
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    monitors = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        label="Monitors that use it",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        data: Any = None,
        *,
        project: Project,
        kind: str,
        channel: Channel | None = None,
    ) -> None:
        self.project, self.kind, self.channel = project, kind, channel
        initial: dict[str, Any] = {"monitors": [monitor.id for monitor in project.monitors.all()]}
        if channel is not None:
            initial = {
                "name": channel.name,
                "reminder_hours": channel.reminder_hours,
                "monitors": [monitor.id for monitor in channel.monitors.all()],
                # Addresses are no secret; a URL may be (a Slack URL is the credential itself).
                "target": "\n".join(channel.config.get("to", [])) if kind == ChannelKind.EMAIL else "",
            }
        super().__init__(data, initial=initial)
        target = self.fields["target"]
        target.label = TARGET_LABELS.get(kind, "URL")  # type: ignore[call-overload]
        target.help_text = TARGET_HELP.get(kind, "")  # type: ignore[call-overload]
        if kind == ChannelKind.EMAIL:
            target.widget = forms.Textarea(attrs={"rows": 3, "autocomplete": "off"})
        else:
            target.widget = forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"})
            if channel is not None:
                target.required = False
                target.help_text = "Leave empty to keep the current URL. " + target.help_text
        monitors = self.fields["monitors"]
        monitors.choices = [(m.id, m.name) for m in project.monitors.order_by("name", "id")]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        """Run the API's serializer on what was typed; its errors go next to their fields."""
        data = super().clean() or {}
        if self.errors:
            return data
        payload: dict[str, Any] = {
            "name": data["name"],
            "reminder_hours": data.get("reminder_hours"),
            "monitors": data.get("monitors", []),
        }
        if self.channel is None:
            payload["kind"] = self.kind
        target = data.get("target") or ""
        if self.kind == ChannelKind.EMAIL:
            payload["config"] = {"to": [a for a in ADDRESS_SEPARATORS.split(target) if a]}
        elif target:
            payload["config"] = {"url": target}
        serializer = ChannelSerializer(
            self.channel, data=payload, partial=self.channel is not None, context={"project": self.project}
        )
        if serializer.is_valid():
            data["validated"] = dict(serializer.validated_data)
            return data
        for name, errors in serializer.errors.items():
            self._add_serializer_error(name, errors)
        return data

    def _add_serializer_error(self, name: str, errors: Any) -> None:
        if name == "config":
            # {"to": [...]} or {"url": [...]} from a sender's clean_config, or a plain list.
            messages = [m for each in errors.values() for m in each] if isinstance(errors, dict) else errors
            self.add_error("target", [str(message) for message in messages])
        elif name in ("name", "reminder_hours", "monitors"):
            self.add_error(name, [str(message) for message in errors])
        else:  # kind (Apprise switched off) and non-field errors
            self.add_error(None, [str(message) for message in errors])

    def service_arguments(self) -> dict[str, Any]:
        """Keyword arguments for `channel_create` / `channel_update`, as the API passes them."""
        attrs = dict(self.cleaned_data["validated"])
        monitors = attrs.pop("monitors", [])
        return {**attrs, "monitor_ids": [monitor.id for monitor in monitors]}
