"""What a ping counts as, decided before anything is written (pure: no ORM, no I/O).

The URL says what the job reported; the monitor's Healthchecks options (CONTRACT §3) may
overrule it: `methods` = POST ignores GET and HEAD (link previews and prefetchers), and
`keywords` read the body (pings.keywords). An ignored ping is stored with its reason and
changes no state.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitors.keywords import Keywords
from monitors.models import PingMethods
from pings.keywords import kind_after_keywords
from pings.models import PingKind

SAFE_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class Counted:
    kind: PingKind
    # Why it was ignored, or which keyword made it count as something else; "" otherwise.
    note: str = ""


def ping_counted(
    *, kind: PingKind, exit_code: int | None, method: str, body: str, methods: str, keywords: Keywords
) -> Counted:
    if methods == PingMethods.POST and method in SAFE_METHODS:
        return Counted(PingKind.IGNORED, f"{method} to a POST-only monitor")
    counted = kind_after_keywords(kind, exit_code=exit_code, body=body, keywords=keywords or {})
    if counted is None:
        return Counted(PingKind.IGNORED, "no success, failure or start keyword in the body")
    if counted == kind:
        return Counted(kind)
    word = "failure" if counted == PingKind.FAIL else "start"
    return Counted(counted, f"a {word} keyword in the body")
