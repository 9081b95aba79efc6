"""Web UI forms for accounts, projects, the dashboard's filters, a monitor's page and the
activity page.

Forms parse and show errors; the rules themselves live in the services and validators the
API uses too (`monitors.projects.validate_project_name`, Django's password validators).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest

from monitors.accounts import email_taken
from monitors.models import MAX_ID, MonitorStatus
from monitors.projects import NAME_MAX_LENGTH, ProjectError, validate_project_name
from monitors.schedule import ScheduleError, validate_timezone
from monitors.serializers import PauseSerializer
from monitors.signin_throttle import lockout_minutes, signin_failed, signin_locked, signin_succeeded
from pings.models import RunStatus
from pings.serializers import RunFeedFilterSerializer


def client_address(request: HttpRequest | None) -> str:
    # The socket's peer: X-Forwarded-For is only as true as the proxy that sets it.
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


class SigninForm(AuthenticationForm):
    """Django's sign-in, refused for a while after repeated failures (monitors.signin_throttle)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That e-mail (or username) and password do not match an account.",
        "throttled": (
            "Too many failed sign-ins for this account from your address. "
            "Wait %(minutes)d minutes, or reset your password."
        ),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "E-mail or username"
        self.fields["username"].widget.attrs["autocomplete"] = "username"

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        if username and signin_locked(username=username, address=address):
            raise forms.ValidationError(
                self.error_messages["throttled"], code="throttled", params={"minutes": lockout_minutes()}
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            if error.code == "invalid_login":
                signin_failed(username=username, address=address)
            raise
        signin_succeeded(username=username, address=address)
        return cleaned


class SignupForm(forms.Form):
    email = forms.EmailField(max_length=150, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters.",
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip()
        if email_taken(email):
            raise forms.ValidationError(
                "An account with this e-mail already exists. Sign in, or reset its password."
            )
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            try:
                password_validation.validate_password(first)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH, strip=False)

    def clean_name(self) -> str:
        try:
            return validate_project_name(self.cleaned_data["name"])
        except ProjectError as error:
            raise forms.ValidationError(error.message) from None


STATUS_CHOICES = [("", "Any status"), *MonitorStatus.choices]


class DashboardFilterForm(forms.Form):
    """The dashboard's filters, read from the URL's query string."""

    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    tag = forms.CharField(required=False, max_length=50)
    q = forms.CharField(required=False, max_length=200, label="Search")

    def filters(self) -> dict[str, str | None]:
        """Keyword arguments for `monitors_for_project`; nothing narrows while any is invalid."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"status": data["status"] or None, "tag": data["tag"] or None, "query": data["q"] or None}

    @property
    def active(self) -> bool:
        return bool(self.filters() and any(self.filters().values()))


RUN_STATUS_CHOICES = [("", "All runs"), *RunStatus.choices]


class RunHistoryForm(forms.Form):
    """A monitor's run history: a status filter and the keyset (`before`: a run id)."""

    status = forms.ChoiceField(choices=RUN_STATUS_CHOICES, required=False)
    before = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)

    def page(self) -> dict[str, Any]:
        """Keyword arguments for `pings.selectors.run_history`; the first page while any is invalid."""
        if not self.is_valid():
            return {}
        return {"status": self.cleaned_data["status"] or None, "before": self.cleaned_data["before"]}


class PauseForm(forms.Form):
    """Pause, optionally until a local date and time in the viewer's zone (vigil.js fills
    `zone` from the browser; without JavaScript the time is UTC, as the form says)."""

    until = forms.CharField(
        required=False,
        label="Until (optional)",
        max_length=40,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    zone = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput(attrs={"data-viewer-zone": ""})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        text = (data.get("until") or "").strip()
        if not text:
            data["until"] = None
            return data
        try:
            local = datetime.fromisoformat(text)
            zone = validate_timezone(data.get("zone") or "UTC")
        except ScheduleError:  # a ValueError too: first
            # The zone comes from the browser, unseen: its error goes with the time it qualifies.
            self.add_error("until", f"Unknown time zone {data.get('zone')!r}: give the time in UTC.")
            return data
        except ValueError:
            self.add_error("until", "Enter a date and time, e.g. 2026-03-01 18:30.")
            return data
        moment = local if local.tzinfo else local.replace(tzinfo=ZoneInfo(zone))
        # The API's rule for `until` (a future time), applied once.
        checked = PauseSerializer(data={"until": moment.isoformat()})
        if not checked.is_valid():
            self.add_error("until", checked.errors["until"])
            return data
        data["until"] = checked.validated_data["until"]
        return data


class ActivityFilterForm(forms.Form):
    """The activity page's filters: those of `GET /api/v1/runs/`, validated by its serializer."""

    status = forms.ChoiceField(choices=[("", "Any status"), *RunStatus.choices], required=False)
    since = forms.CharField(
        required=False,
        max_length=64,
        help_text="24h, 7d, or a date-time such as 2026-03-01T00:00Z",
        widget=forms.TextInput(attrs={"placeholder": "e.g. 24h"}),
    )
    monitor = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    tag = forms.CharField(required=False, max_length=50)
    before = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)

    def __init__(self, data: Any, *, monitors: list[tuple[int, str]], tags: list[str]) -> None:
        super().__init__(data)
        self.fields["monitor"].choices = [("", "Any monitor"), *monitors]  # type: ignore[attr-defined]
        self.fields["tag"].widget = forms.Select(choices=[("", "Any tag"), *((tag, tag) for tag in tags)])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = {name: self.data.get(name, "") for name in ("status", "since", "monitor", "tag")}
        feed = RunFeedFilterSerializer(data={name: value for name, value in raw.items() if value})
        if not feed.is_valid():
            for name, errors in feed.errors.items():
                if name in self.fields and name not in self.errors:
                    self.add_error(name, errors)
        else:
            data["feed"] = {
                name: value for name, value in feed.validated_data.items() if value not in ("", None)
            }
        return data

    def feed(self) -> dict[str, Any]:
        """Keyword arguments for `pings.selectors.runs_for_project`; no filter while any is invalid."""
        return self.cleaned_data.get("feed", {}) if self.is_valid() else {}

    @property
    def active(self) -> bool:
        return bool(self.feed())
