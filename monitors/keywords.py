"""A monitor's body keywords (CONTRACT §3): what may be stored, and its one normal form.

The API, the web form and the Healthchecks import all go through `normalize_keywords`, so
a rule about keywords is written once. Matching them against a ping body is the ping
path's business (pings.keywords).
"""

from __future__ import annotations

from typing import Final

KEYWORD_KINDS: Final = ("success", "failure", "start")
MAX_KEYWORDS_PER_KIND = 100
# Healthchecks allows 200 characters for a whole comma-separated list: any one of its keywords fits.
MAX_KEYWORD_LENGTH = 200

Keywords = dict[str, list[str]]


class KeywordsError(ValueError):
    """The keywords cannot be stored; the message says why, for a person."""


def normalize_keywords(value: object) -> Keywords:
    """Every kind present, each keyword stripped, duplicates (ignoring case) dropped, order kept."""
    if not isinstance(value, dict):
        raise KeywordsError('An object: {"success": [...], "failure": [...], "start": [...]}.')
    unknown = sorted(str(key) for key in value if key not in KEYWORD_KINDS)
    if unknown:
        raise KeywordsError(f"Unknown keys {unknown}: use {', '.join(KEYWORD_KINDS)}.")
    return {kind: _normalize_list(kind, value.get(kind, [])) for kind in KEYWORD_KINDS}


def _normalize_list(kind: str, items: object) -> list[str]:
    if not isinstance(items, list):
        raise KeywordsError(f"{kind}: a list of keywords.")
    if len(items) > MAX_KEYWORDS_PER_KIND:
        raise KeywordsError(f"{kind}: at most {MAX_KEYWORDS_PER_KIND} keywords.")
    kept: list[str] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise KeywordsError(f"{kind}: every keyword is a string.")
        keyword = item.strip()
        if not keyword:
            raise KeywordsError(f"{kind}: keywords must not be empty.")
        if len(keyword) > MAX_KEYWORD_LENGTH:
            raise KeywordsError(f"{kind}: a keyword has at most {MAX_KEYWORD_LENGTH} characters.")
        if "\x00" in keyword or not _encodable(keyword):
            raise KeywordsError(f"{kind}: keywords must be text without NUL or lone surrogate characters.")
        if keyword.casefold() not in seen:
            seen.add(keyword.casefold())
            kept.append(keyword)
    return kept


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
