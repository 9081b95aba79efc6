"""Body keywords (CONTRACT §3): what a ping's body makes of it. Pure functions, no ORM.

Healthchecks' order decides when a body holds several kinds: failure, then success, then
start. Matching ignores case (Healthchecks' does not; our contract says it does).

Where we part from Healthchecks, on purpose:
- keywords classify only pings that say "success" (plain, or exit status 0). A log ping
  changes no state, an explicit failure (`/fail`, a non-zero exit) stays a failure, and a
  start stays a start unless its body holds a failure keyword: the job's own word that
  something started or failed is never turned into a success or dropped.
- with no success keywords, a success ping whose body matches nothing is still a success
  (Healthchecks ignores it whenever filtering is on); with success keywords it is ignored.
"""

from __future__ import annotations

from enum import StrEnum

from monitors.keywords import Keywords
from pings.models import PingKind


class BodyMatch(StrEnum):
    FAILURE = "failure"
    SUCCESS = "success"
    START = "start"
    # Success keywords are set and the body holds none of the three kinds.
    NOTHING = "nothing"


def classify_body(body: str, keywords: Keywords) -> BodyMatch | None:
    """The first kind whose keyword is in `body`; None when the keywords say nothing about it."""
    folded = body.casefold()
    for match in (BodyMatch.FAILURE, BodyMatch.SUCCESS, BodyMatch.START):
        if any(keyword.casefold() in folded for keyword in keywords.get(match.value, ())):
            return match
    return BodyMatch.NOTHING if keywords.get("success") else None


def kind_after_keywords(
    kind: PingKind, *, exit_code: int | None, body: str, keywords: Keywords
) -> PingKind | None:
    """The kind a ping counts as once its body is read; None: store it as ignored, change nothing."""
    if kind == PingKind.LOG or kind == PingKind.FAIL or (kind == PingKind.EXIT and exit_code != 0):
        return kind
    match = classify_body(body, keywords)
    if match == BodyMatch.FAILURE:
        return PingKind.FAIL
    if kind == PingKind.START:
        return kind
    if match == BodyMatch.START:
        return PingKind.START
    if match == BodyMatch.NOTHING:
        return None
    return kind
