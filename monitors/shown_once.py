"""A secret shown once: kept in the session from the POST that made it to the next page view.

The page that made it redirects (so reloading never makes a second key or channel) and the
page it lands on takes the secret out of the session as it shows it: it is never shown again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

SESSION_KEY = "vigil_shown_once"


@dataclass(frozen=True)
class ShownOnce:
    what: str  # "webhook-secret" or "api-key"
    object_id: int
    value: str


def show_once(request: HttpRequest, *, what: str, object_id: int, value: str) -> None:
    request.session[SESSION_KEY] = {"what": what, "object_id": object_id, "value": value}


def take_shown_once(request: HttpRequest, *, what: str) -> ShownOnce | None:
    """The secret waiting to be shown, if it is of this kind; it is gone from the session after."""
    stored = request.session.get(SESSION_KEY)
    if not isinstance(stored, dict) or stored.get("what") != what:
        return None
    del request.session[SESSION_KEY]
    return ShownOnce(what=what, object_id=int(stored["object_id"]), value=str(stored["value"]))
