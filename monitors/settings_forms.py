"""Forms of a project's settings page: ping key, API keys, maintenance windows, and the
Healthchecks import.

Each only parses what was typed and shows errors; the rules are those of the API (its
serializers) and of the services (`monitors.projects.validate_ping_key`, the import module).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.core.validators import URLValidator

from alerts.maintenance_api import MAX_DURATION_SECONDS, MaintenanceWindowSerializer
from monitors.projects import PING_KEY_MAX_LENGTH, ProjectError, validate_ping_key
from monitors.schedule import ScheduleError, validate_timezone
from monitors.serializers import ApiKeySerializer


def _serializer_errors(form: forms.Form, errors: dict[str, Any], *, fields: dict[str, str]) -> None:
    """Put a serializer's errors next to the form's fields (`fields`: serializer name → form name)."""
    for name, messages in errors.items():
        listed = messages if isinstance(messages, list) else [messages]
        form.add_error(fields.get(name), [str(message) for message in listed])


class PingKeyForm(forms.Form):
    ping_key = forms.CharField(
        label="Ping key",
        max_length=PING_KEY_MAX_LENGTH,
        help_text=(
            "Slug ping URLs (/ping/<ping key>/<slug>) use it. Letters, digits, '-' and '_', "
            "16 to 40 characters. URLs with the old key stop working at once."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "mono"}),
    )

    def clean_ping_key(self) -> str:
        try:
            return validate_ping_key(self.cleaned_data["ping_key"].strip())
        except ProjectError as error:
            raise forms.ValidationError(error.message) from None


ACCESS_CHOICES = [
    ("read_write", "Read-write: may change monitors, channels and keys"),
    ("read_only", "Read-only: may only read (ping URLs and secrets hidden)"),
]


class ApiKeyForm(forms.Form):
    """Its ids start `key_`: the settings page holds other forms with a `name` field."""

    name = forms.CharField(
        max_length=100, label="Key label", help_text="Where it is used, e.g. “deploy script”."
    )
    access = forms.ChoiceField(choices=ACCESS_CHOICES, initial="read_write", widget=forms.RadioSelect)

    def __init__(self, data: Any = None) -> None:
        super().__init__(data, auto_id="key_%s")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        checked = ApiKeySerializer(data={"name": data["name"], "read_only": data["access"] == "read_only"})
        if not checked.is_valid():
            _serializer_errors(self, checked.errors, fields={"name": "name", "read_only": "access"})
            return data
        data.update(checked.validated_data)
        return data


WINDOW_KINDS = [("one_off", "Once, between two times"), ("recurring", "Repeating, on a cron schedule")]


class MaintenanceWindowForm(forms.Form):
    """A one-off window (start and end in the viewer's zone) or a recurring one (cron in a zone,
    lasting some minutes), checked by the API's `MaintenanceWindowSerializer`. Ids start `window_`."""

    name = forms.CharField(max_length=200, required=False, label="Name (optional)")
    kind = forms.ChoiceField(choices=WINDOW_KINDS, initial="one_off", widget=forms.RadioSelect, label="When")
    starts_at = forms.CharField(
        required=False, label="Starts", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.CharField(
        required=False, label="Ends", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    cron_expression = forms.CharField(
        required=False,
        max_length=200,
        label="Cron expression",
        help_text="When each window starts, e.g. 0 3 * * 0 (Sundays at 03:00).",
        widget=forms.TextInput(attrs={"class": "mono", "spellcheck": "false"}),
    )
    timezone = forms.CharField(required=False, max_length=64, label="Time zone", initial="UTC")
    duration_minutes = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_DURATION_SECONDS // 60, label="Lasting (minutes)"
    )
    zone = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput(attrs={"data-viewer-zone": ""})
    )

    def __init__(self, data: Any = None) -> None:
        super().__init__(data, auto_id="window_%s")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        payload: dict[str, Any] = {"name": data.get("name", "")}
        if data["kind"] == "one_off":
            for name in ("starts_at", "ends_at"):
                payload[name] = self._moment(name, data.get(name) or "", data.get("zone") or "UTC")
            if self.errors:
                return data
        else:
            payload["cron_expression"] = data.get("cron_expression") or ""
            payload["timezone"] = data.get("timezone") or "UTC"
            minutes = data.get("duration_minutes")
            payload["duration_seconds"] = minutes * 60 if minutes else None
        payload = {name: value for name, value in payload.items() if value not in (None, "")} | {
            "name": payload["name"]
        }
        checked = MaintenanceWindowSerializer(data=payload)
        if not checked.is_valid():
            _serializer_errors(
                self,
                checked.errors,
                fields={
                    "name": "name",
                    "starts_at": "starts_at",
                    "ends_at": "ends_at",
                    "cron_expression": "cron_expression",
                    "timezone": "timezone",
                    "duration_seconds": "duration_minutes",
                },
            )
            return data
        data["validated"] = dict(checked.validated_data)
        return data

    def _moment(self, name: str, text: str, zone: str) -> str | None:
        """A local date-time in the viewer's zone (UTC without JavaScript), as ISO 8601."""
        if not text.strip():
            return None
        try:
            local = datetime.fromisoformat(text.strip())
            tz = ZoneInfo(validate_timezone(zone))
        except ScheduleError:  # a ValueError too: first
            self.add_error(name, f"Unknown time zone {zone!r}: give the time in UTC.")
            return None
        except ValueError:
            self.add_error(name, "Enter a date and time, e.g. 2026-03-01 18:30.")
            return None
        return (local if local.tzinfo else local.replace(tzinfo=tz)).isoformat()


class HealthchecksImportForm(forms.Form):
    url = forms.URLField(
        validators=[URLValidator(schemes=["http", "https"])],
        label="Healthchecks address",
        max_length=500,
        assume_scheme="https",
        help_text="The site's base address, e.g. https://healthchecks.io or https://hc.example.com.",
    )
    api_key = forms.CharField(
        label="Healthchecks API key",
        max_length=200,
        help_text=(
            "From the Healthchecks project's Settings → API Access. A read-write key shows the "
            "checks' ping URLs, so they keep working here. It is used for this request only."
        ),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    ping_key = forms.CharField(
        label="Ping key (optional)",
        required=False,
        max_length=PING_KEY_MAX_LENGTH,
        help_text="The Healthchecks project's ping key, so /ping/<ping key>/<slug> URLs keep working too.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "mono"}),
    )

    new_uuids = forms.BooleanField(
        required=False,
        label="Import with new ping URLs",
        help_text="Only for a read-only key, which shows no ping URLs: every job's URL then changes.",
    )

    def clean_ping_key(self) -> str | None:
        value = (self.cleaned_data.get("ping_key") or "").strip()
        if not value:
            return None
        try:
            return validate_ping_key(value)
        except ProjectError as error:
            raise forms.ValidationError(error.message) from None
