"""Forms of the members page and of accepting an invitation: they parse; the rules are in
monitors.members."""

from __future__ import annotations

from typing import Any

from django import forms

from monitors.forms import SignupForm
from monitors.roles import Role

ROLE_HELP = {
    Role.VIEWER: "sees everything, changes nothing",
    Role.MEMBER: "also monitors, runs and incidents",
    Role.ADMIN: "also channels, API keys, maintenance, settings and members",
    Role.OWNER: "everything, including owners",
}


def role_choices(*, with_owner: bool) -> list[tuple[str, str]]:
    roles = [Role.VIEWER, Role.MEMBER, Role.ADMIN] + ([Role.OWNER] if with_owner else [])
    return [(role.value, f"{role.label} — {ROLE_HELP[role]}") for role in roles]


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=[], initial=Role.MEMBER)

    def __init__(self, *args: Any, with_owner: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offered: what this inviter may give. Accepted: any role, so that the service (not the
        # form) refuses an owner invitation from an admin, with a 403 like every refusal.
        choices = role_choices(with_owner=with_owner or self.is_bound)
        self.fields["role"].choices = choices  # type: ignore[attr-defined]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TransferForm(forms.Form):
    to = forms.TypedChoiceField(label="New owner", coerce=int, choices=[])

    def __init__(self, *args: Any, members: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = members or []  # type: ignore[attr-defined]


class AcceptWithNewAccountForm(SignupForm):
    """Sign-up's password rules, for the e-mail the invitation was sent to."""

    email = None  # type: ignore[assignment]
