"""A user's sign-ins (when, from where, which browser), and signing out their other sessions.

Recorded on Django's `user_logged_in` signal, so every way of signing in counts (the sign-in
page, sign-up, accepting an invitation). The address honours TRUSTED_PROXIES.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.backends.base import SessionBase
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from monitors.models import SignIn
from monitorsite.client_address import client_address

SHOWN = 10
USER_AGENT_MAX = 300


def sign_in_record(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is None:
        return
    session = getattr(request, "session", None)
    SignIn.objects.create(
        user=user,
        at=timezone.now(),
        address=client_address(request.META),
        user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX],
        session_key=(session.session_key or "") if session is not None else "",
    )


def recent_sign_ins(*, user: User) -> QuerySet[SignIn]:
    return SignIn.objects.filter(user=user).order_by("-at", "-id")[:SHOWN]


def sign_out_other_sessions(*, user: User, keep: str) -> int:
    """End every session this user signed in with except `keep`; how many were still open."""
    engine = import_module(settings.SESSION_ENGINE)
    ended = 0
    for key in set(
        SignIn.objects.filter(user=user)
        .exclude(session_key__in=["", keep])
        .values_list("session_key", flat=True)
    ):
        store: SessionBase = engine.SessionStore(session_key=key)
        if store.exists(key):
            store.delete(key)
            ended += 1
    SignIn.objects.filter(user=user).exclude(session_key=keep).update(session_key="")
    return ended
