"""Web UI forms for accounts, projects and the dashboard's filters.

Forms parse and show errors; the rules themselves live in the services and validators the
API uses too (`monitors.projects.validate_project_name`, Django's password validators).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest

from monitors.accounts import email_taken
from monitors.models import MonitorStatus
from monitors.projects import NAME_MAX_LENGTH, ProjectError, validate_project_name
from monitors.signin_throttle import lockout_minutes, signin_failed, signin_locked, signin_succeeded


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
