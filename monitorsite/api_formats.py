"""The API's JSON parser and renderer, hardened against hostile bodies.

- Parsing: Python's JSON decoder recurses once per nesting level, so 100,000 `[` end in a
  RecursionError (a 500). Nothing in the API nests deeper than a few levels: refuse more.
- Rendering: an error message may repeat the client's input, and a lone surrogate in it
  (valid JSON, `"\\ud800"`) has no UTF-8 form; JSON's `\\u` escapes can still carry it.

The API answers JSON only. DRF's browsable HTML API is left out: a key-authenticated API
cannot be browsed from a browser anyway (/api/v1/docs/ is the way to explore it), and its
forms crashed on invalid input (a date-time field holding "garbage" was a 500).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers, renderers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


class JSONParser(parsers.JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels") from None
        if nesting_depth(data) > MAX_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels")
        return data


def nesting_depth(data: object) -> int:
    """How deeply lists and objects nest in `data` (a scalar is 0), without recursing."""
    deepest = 0
    pending: list[tuple[object, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: list[object] = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth + 1)
        pending.extend((child, depth + 1) for child in children)
    return deepest


class JSONRenderer(renderers.JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _EscapingJSONRenderer().render(data, accepted_media_type, renderer_context)


class _EscapingJSONRenderer(renderers.JSONRenderer):
    ensure_ascii = True
