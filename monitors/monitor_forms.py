"""The web form that creates and edits a monitor (issue 9, item 4).

It only turns what a browser sends into the API's JSON and shows errors beside their
fields: every rule is `MonitorSerializer`'s and every write is the API's service
(`monitor_create` / `monitor_update`), so a rule is never written twice.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db import IntegrityError
from django.http import QueryDict

from monitors.keywords import KEYWORD_KINDS
from monitors.models import Monitor, PingMethods, Project, ScheduleKind
from monitors.rules import OPERATORS
from monitors.serializers import MonitorSerializer
from monitors.services import monitor_create, monitor_update

UNITS: dict[str, int] = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
UNIT_CHOICES = [(name, name) for name in UNITS]
OPERATOR_LABELS = {"lt": "<", "lte": "≤", "gt": ">", "gte": "≥", "eq": "=", "ne": "≠"}
OPERATOR_CHOICES = [(op, f"{OPERATOR_LABELS.get(op, op)} ({op})") for op in OPERATORS]
SCHEDULE_FIELDS = ("schedule_kind", "interval_value", "interval_unit", "cron_expression", "timezone")
SLUG_TAKEN = "A monitor with this slug already exists."
# Rows are named rule-<n>-field / -op / -value; <n> only orders them.
_RULE_KEY = re.compile(r"\Arule-(\d{1,4})-field\Z")
_RULE_ERROR = re.compile(r"\Arule (\d+): ")
_KEYWORD_ERROR = re.compile(rf"\A({'|'.join(KEYWORD_KINDS)}): ")
# Serializer field -> form field, where the names differ.
_ERROR_FIELDS = {
    "grace_seconds": "grace_value",
    "max_duration_seconds": "max_duration_value",
    "ping_uuid": None,
    "non_field_errors": None,
}


def _number(attrs: dict[str, Any] | None = None) -> forms.NumberInput:
    return forms.NumberInput(attrs={"inputmode": "numeric", **(attrs or {})})


class ChannelChoiceField(forms.MultipleChoiceField):
    """Checkboxes of the project's channels; which ids are valid is the serializer's call."""

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value: Any) -> bool:
        return True


@dataclass
class RuleRow:
    """One alert rule as typed: field, operator and value (a JSON number, true/false or text)."""

    field: str = ""
    op: str = "lt"
    value: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def blank(self) -> bool:
        return not self.field.strip() and not self.value.strip()

    def as_rule(self) -> dict[str, Any]:
        return {"field": self.field.strip(), "op": self.op, "value": rule_value(self.value)}


def rule_value(text: str) -> Any:
    """`0`, `2.5`, `true` are a number and a boolean; anything else (or `"0"`, quoted) is text."""
    text = text.strip()
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, int | float | str | bool) else text


def rule_value_text(value: object) -> str:
    """The inverse of `rule_value`: text that would read otherwise (a number, a boolean, quotes,
    spaces at either end) is quoted."""
    if isinstance(value, str):
        return json.dumps(value) if rule_value(value) != value or value != value.strip() else value
    return json.dumps(value)


def _split_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _split_tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def _in_unit(seconds: int | None) -> tuple[str, str]:
    """A whole number of the largest unit that fits: 7200 -> ("2", "hours")."""
    if seconds is None:
        return "", "minutes"
    for unit, size in reversed(UNITS.items()):
        if seconds % size == 0:
            return str(seconds // size), unit
    return str(seconds), "seconds"


def _seconds(value: str, unit: str) -> int | str | None:
    """Seconds from a number and a unit; text that is no whole number goes on for the
    serializer to name (its message is the API's)."""
    value = value.strip()
    if not value:
        return None
    try:
        return int(value) * UNITS.get(unit, 1)
    except ValueError:
        return value


def _or_blank(value: int | str | None) -> int | str:
    return "" if value is None else value


class MonitorForm(forms.Form):
    name = forms.CharField(required=False, max_length=None, label="Name")
    slug = forms.CharField(
        required=False,
        label="Slug",
        help_text="Lowercase letters, digits, - and _; in ping URLs by slug. Empty: made from the name.",
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    description = forms.CharField(
        required=False,
        label="Description",
        strip=False,
        help_text="Shown on the monitor page and in every alert.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    tags = forms.CharField(
        required=False, label="Tags", help_text="Separated by commas, e.g. backup, nightly."
    )
    runbook_url = forms.CharField(
        required=False,
        label="Runbook URL",
        help_text="What to do when it fails: linked in every alert.",
        widget=forms.URLInput(attrs={"placeholder": "https://wiki.example.com/runbooks/backup"}),
    )
    schedule_kind = forms.CharField(
        required=False,
        label="Schedule",
        widget=forms.RadioSelect(
            choices=[
                (ScheduleKind.INTERVAL, "Every fixed interval"),
                (ScheduleKind.CRON, "On a cron schedule"),
            ]
        ),
    )
    interval_value = forms.CharField(required=False, label="Every", widget=_number({"min": 1}))
    interval_unit = forms.CharField(required=False, label="Unit", widget=forms.Select(choices=UNIT_CHOICES))
    cron_expression = forms.CharField(
        required=False,
        label="Cron expression",
        help_text="Minute, hour, day of month, month, day of week: 0 3 * * * is 03:00 every day.",
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false", "class": "mono"}),
    )
    timezone = forms.CharField(
        required=False,
        label="Time zone",
        help_text="The cron expression's clock (an IANA name, e.g. Europe/Berlin).",
        widget=forms.TextInput(attrs={"list": "timezone-names", "autocomplete": "off"}),
    )
    grace_value = forms.CharField(
        required=False, label="Grace", help_text="How long after the due time it is down.", widget=_number()
    )
    grace_unit = forms.CharField(required=False, label="Unit", widget=forms.Select(choices=UNIT_CHOICES))
    max_duration_value = forms.CharField(
        required=False,
        label="Longest run",
        help_text="A run open longer is a problem. Empty: until the next due time.",
        widget=_number({"min": 1}),
    )
    max_duration_unit = forms.CharField(
        required=False, label="Unit", widget=forms.Select(choices=UNIT_CHOICES)
    )
    failure_threshold = forms.CharField(
        required=False, label="Alert after", help_text="Bad runs in a row.", widget=_number({"min": 1})
    )
    recovery_threshold = forms.CharField(
        required=False, label="Recovered after", help_text="Good runs in a row.", widget=_number({"min": 1})
    )
    notify_every_failures = forms.CharField(
        required=False,
        label="Repeat the alert every",
        help_text="Nth failure in a row while the incident is open (0: only the first).",
        widget=_number({"min": 0}),
    )
    allow_overlap = forms.BooleanField(required=False, label="Allow overlapping runs (otherwise a problem)")
    channels = ChannelChoiceField(required=False, label="Channels")
    methods = forms.CharField(
        required=False,
        label="Pings by",
        help_text="POST only: GET and HEAD pings (link previews, prefetchers) are stored as ignored.",
        widget=forms.Select(choices=[(PingMethods.ANY, "Any method"), (PingMethods.POST, "POST only")]),
    )
    resume_on_ping = forms.BooleanField(required=False, label="A ping resumes it while paused")
    keywords_success = forms.CharField(
        required=False,
        label="Success keywords",
        help_text="One a line. When set, a body holding no keyword is ignored.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    keywords_failure = forms.CharField(
        required=False,
        label="Failure keywords",
        help_text="One a line: a body holding one is a failure.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    keywords_start = forms.CharField(
        required=False,
        label="Start keywords",
        help_text="One a line: a body holding one is a start.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        project: Project,
        monitor: Monitor | None = None,
        preview_url: str | None = None,
    ) -> None:
        super().__init__(data, initial=_initial(project, monitor))
        self.project = project
        self.monitor = monitor
        if preview_url is not None:
            self._live_preview(preview_url)
        if monitor is not None:
            self.fields[
                "slug"
            ].help_text = "Lowercase letters, digits, - and _. Jobs that ping by slug must use the new one."
        channels = project.channels.order_by("name", "id")
        channel_field = self.fields["channels"]
        assert isinstance(channel_field, ChannelChoiceField)
        channel_field.choices = [
            (str(channel.id), f"{channel.name} ({channel.kind})") for channel in channels
        ]
        self.rules = self._rule_rows(data)
        self.rules_errors: list[str] = []

    def _live_preview(self, url: str) -> None:
        """While the schedule is typed, htmx asks for its preview (debounced) and swaps it in."""
        for name in SCHEDULE_FIELDS:
            widget = self.fields[name].widget
            typed = isinstance(widget, forms.TextInput)  # NumberInput is one too
            widget.attrs.update(
                {
                    "hx-get": url,
                    "hx-trigger": "input changed delay:400ms" if typed else "change",
                    "hx-target": "#schedule-preview",
                    "hx-swap": "outerHTML",
                    "hx-include": "#schedule-fields",
                    "hx-sync": "#schedule-fields:replace",
                }
            )

    # ---- rule rows

    def _rule_rows(self, data: QueryDict | None) -> list[RuleRow]:
        if data is None:
            rules = self.monitor.rules if self.monitor is not None else []
            return [RuleRow(rule["field"], rule["op"], rule_value_text(rule["value"])) for rule in rules]
        numbers = sorted(int(match[1]) for key in data if (match := _RULE_KEY.match(key)))
        removed = data.get("remove_rule")
        rows = [
            RuleRow(
                data.get(f"rule-{number}-field", ""),
                data.get(f"rule-{number}-op", "lt"),
                data.get(f"rule-{number}-value", ""),
            )
            for number in numbers
            if str(number) != removed
        ]
        return [row for row in rows if not row.blank]

    @property
    def rule_rows(self) -> list[RuleRow]:
        """The rules to show: those typed, then one empty row to add another (also without JS),
        and one more for each "Add a rule"."""
        spare = 2 if self.data.get("add_rule") else 1
        return [*self.rules, *(RuleRow() for _ in range(spare))]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.rules_errors or any(row.errors for row in self.rules))

    @property
    def row_action(self) -> bool:
        """Add or remove a rule row, or refresh the preview: show the form again, save nothing."""
        return any(self.data.get(name) is not None for name in ("add_rule", "remove_rule", "preview"))

    # ---- to the API's shape

    def schedule_payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data.get("schedule_kind") == ScheduleKind.CRON:
            return {
                "kind": "cron",
                "expression": data.get("cron_expression", ""),
                "timezone": data.get("timezone", "").strip() or "UTC",
            }
        if data.get("schedule_kind") == ScheduleKind.INTERVAL:
            return {"kind": "interval", "seconds": _seconds(data["interval_value"], data["interval_unit"])}
        return {"kind": data.get("schedule_kind")}

    def payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        creating = self.monitor is None
        body: dict[str, Any] = {
            "description": data["description"],
            "tags": _split_tags(data["tags"]),
            "runbook_url": data["runbook_url"].strip(),
            "schedule": self.schedule_payload(),
            # Grace has no "none": left empty, the serializer asks for a number.
            "grace_seconds": _or_blank(_seconds(data["grace_value"], data["grace_unit"])),
            "max_duration_seconds": _seconds(data["max_duration_value"], data["max_duration_unit"]),
            "failure_threshold": data["failure_threshold"],
            "recovery_threshold": data["recovery_threshold"],
            "notify_every_failures": data["notify_every_failures"],
            "allow_overlap": data["allow_overlap"],
            "resume_on_ping": data["resume_on_ping"],
            "methods": data["methods"],
            "channels": [int(item) if item.isdigit() else item for item in data["channels"]],
            "rules": [row.as_rule() for row in self.rules],
            "keywords": {kind: _split_lines(data[f"keywords_{kind}"]) for kind in KEYWORD_KINDS},
        }
        # On create an empty name or slug is left out, as an API client would: the serializer
        # then derives the slug from the name (and the name defaults to the slug).
        for name in ("name", "slug"):
            if data[name] or not creating:
                body[name] = data[name]
        return body

    # ---- validate and save through the API's serializer and services

    def save(self) -> Monitor | None:
        """The saved monitor, or None with the serializer's errors put beside their fields."""
        if not self.is_valid():
            return None
        serializer = MonitorSerializer(
            instance=self.monitor, data=self.payload(), context={"project": self.project}
        )
        if not serializer.is_valid():
            self._add_errors(serializer.errors)
            return None
        fields = dict(serializer.validated_data)
        try:
            if self.monitor is None:
                return monitor_create(project=self.project, **fields)
            return monitor_update(monitor=self.monitor, **fields)
        except IntegrityError:
            # Another request took the slug between validation and the write (as in the API).
            self.add_error("slug", SLUG_TAKEN)
            return None

    def _add_errors(self, errors: dict[str, Any]) -> None:
        for name, messages in errors.items():
            for message in _flatten(messages):
                self._add_error(name, message)

    def _add_error(self, name: str, message: str) -> None:
        if name == "rules":
            match = _RULE_ERROR.match(message)
            if match and 0 < int(match[1]) <= len(self.rules):
                self.rules[int(match[1]) - 1].errors.append(message[match.end() :].capitalize())
            else:
                self.rules_errors.append(message)
            return
        if name == "keywords":
            match = _KEYWORD_ERROR.match(message)
            target = f"keywords_{match[1]}" if match else "keywords_success"
            self.add_error(target, message[match.end() :] if match else message)
            return
        if name == "schedule":
            self.add_error(self._schedule_field(message), message[:1].upper() + message[1:])
            return
        field_name = _ERROR_FIELDS.get(name, name)
        self.add_error(field_name if field_name in self.fields else None, message)

    def _schedule_field(self, message: str) -> str:
        kind = self.cleaned_data.get("schedule_kind")
        if kind == ScheduleKind.CRON:
            return "timezone" if "time zone" in message else "cron_expression"
        return "interval_value" if kind == ScheduleKind.INTERVAL else "schedule_kind"


def _flatten(messages: Any, where: str = "") -> list[str]:
    """DRF errors: a list of strings, or per list item a dict of them ({0: [...]} for tags)."""
    if isinstance(messages, dict):
        return [
            text for index, inner in messages.items() for text in _flatten(inner, f"item {int(index) + 1}: ")
        ]
    if isinstance(messages, list):
        return [text for inner in messages for text in _flatten(inner, where)]
    return [f"{where}{messages}"]


def _initial(project: Project, monitor: Monitor | None) -> dict[str, Any]:
    if monitor is None:
        return {
            "schedule_kind": ScheduleKind.INTERVAL,
            "interval_value": "1",
            "interval_unit": "days",
            "timezone": "UTC",
            "grace_value": "1",
            "grace_unit": "hours",
            "max_duration_unit": "hours",
            "failure_threshold": "1",
            "recovery_threshold": "1",
            "notify_every_failures": "0",
            "methods": PingMethods.ANY,
            # As in the API: a new monitor alerts every channel of its project.
            "channels": [str(channel_id) for channel_id in project.channels.values_list("id", flat=True)],
        }
    interval_value, interval_unit = _in_unit(monitor.interval_seconds)
    grace_value, grace_unit = _in_unit(monitor.grace_seconds)
    max_value, max_unit = _in_unit(monitor.max_duration_seconds)
    keywords = monitor.keywords or {}
    return {
        "name": monitor.name,
        "slug": monitor.slug,
        "description": monitor.description,
        "tags": ", ".join(monitor.tags),
        "runbook_url": monitor.runbook_url,
        "schedule_kind": monitor.schedule_kind,
        "interval_value": interval_value if monitor.schedule_kind == ScheduleKind.INTERVAL else "1",
        "interval_unit": interval_unit if monitor.schedule_kind == ScheduleKind.INTERVAL else "days",
        "cron_expression": monitor.cron_expression,
        "timezone": monitor.timezone,
        "grace_value": grace_value,
        "grace_unit": grace_unit,
        "max_duration_value": max_value,
        "max_duration_unit": max_unit,
        "failure_threshold": str(monitor.failure_threshold),
        "recovery_threshold": str(monitor.recovery_threshold),
        "notify_every_failures": str(monitor.notify_every_failures),
        "allow_overlap": monitor.allow_overlap,
        "resume_on_ping": monitor.resume_on_ping,
        "methods": monitor.methods,
        "channels": [str(channel.id) for channel in monitor.channels.all()],
        **{f"keywords_{kind}": "\n".join(keywords.get(kind, [])) for kind in KEYWORD_KINDS},
    }
