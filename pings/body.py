"""Reading a ping body of any size into a bounded log excerpt and optional metadata."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from monitorsite.storable import is_storable_text
from pings.errors import PingError

CHUNK_SIZE = 64 * 1024
# A body that may be a JSON envelope is buffered whole up to this size to be parsed;
# anything larger is log text (its tail kept), however it starts.
ENVELOPE_MAX_BYTES = 8 * 1024 * 1024
MAX_META_KEYS = 100
MAX_META_KEY_LENGTH = 100
META_KEY = re.compile(rf"[A-Za-z0-9_.\-]{{1,{MAX_META_KEY_LENGTH}}}")
# ASCII digits: \d would also take other scripts' digits, which json.loads refuses.
JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")

MetaValue = int | float | str | bool


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass
class PingBody:
    log: str = ""
    truncated: bool = False
    size: int = 0
    meta: dict[str, MetaValue] = field(default_factory=dict)


@dataclass
class _Tail:
    """The last `limit` bytes of a stream, plus the whole of it while it could be an envelope."""

    limit: int
    size: int = 0
    tail: bytearray = field(default_factory=bytearray)
    whole: bytearray | None = field(default_factory=bytearray)

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.tail += chunk
        if len(self.tail) > self.limit:
            del self.tail[: len(self.tail) - self.limit]
        if self.whole is not None:
            self.whole += chunk
            if len(self.whole) > ENVELOPE_MAX_BYTES or self.whole.lstrip()[:1] not in (b"", b"{"):
                self.whole = None


def read_body(stream: Readable, *, limit: int) -> PingBody:
    """Consume the whole request stream in chunks, keeping only what is stored."""
    tail = _Tail(limit=limit)
    while chunk := stream.read(CHUNK_SIZE):
        tail.feed(chunk)
    if tail.whole:
        envelope = parse_envelope(bytes(tail.whole))
        if envelope is not None:
            meta, log_text = envelope
            log, truncated = excerpt(log_text.encode("utf-8", "surrogatepass"), limit=limit)
            return PingBody(log=log, truncated=truncated, size=tail.size, meta=meta)
    truncated = tail.size > limit
    return PingBody(log=decode_tail(bytes(tail.tail), cut=truncated), truncated=truncated, size=tail.size)


def excerpt(data: bytes, *, limit: int) -> tuple[str, bool]:
    """The last `limit` bytes as text, and whether anything was cut."""
    truncated = len(data) > limit
    return decode_tail(data[len(data) - limit :] if truncated else data, cut=truncated), truncated


def decode_tail(data: bytes, *, cut: bool) -> str:
    """Bytes to text: a cut front starts at a character boundary, NULs dropped, bad UTF-8 replaced."""
    if cut:
        # Skip UTF-8 continuation bytes left over from the character the cut went through.
        skip = 0
        while skip < min(3, len(data)) and data[skip] & 0xC0 == 0x80:
            skip += 1
        data = data[skip:]
    return data.replace(b"\x00", b"").decode("utf-8", errors="replace")


def parse_envelope(data: bytes) -> tuple[dict[str, MetaValue], str] | None:
    """`{"meta": {...}, "log": "..."}` → (meta, log); None when the body is not an envelope."""
    try:
        document = json.loads(data, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or not document or not set(document) <= {"meta", "log"}:
        return None
    meta = document.get("meta", {})
    log = document.get("log", "")
    if not isinstance(log, str):
        raise PingError('"log" must be a string')
    if not isinstance(meta, dict):
        raise PingError('"meta" must be an object')
    for key, value in meta.items():
        validate_meta_key(key)
        if not isinstance(value, int | float | str | bool):
            raise PingError(f'meta "{key}" must be a number, string or boolean')
        validate_meta_value(key, value)
    if len(meta) > MAX_META_KEYS:
        raise PingError(f"at most {MAX_META_KEYS} meta keys")
    return meta, log.replace("\x00", "")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def validate_meta_key(key: str) -> None:
    if not META_KEY.fullmatch(key):
        raise PingError(
            f"invalid meta key {key[:MAX_META_KEY_LENGTH]!r}: use letters, digits, '_', '-' or '.' "
            f"(at most {MAX_META_KEY_LENGTH})"
        )


def validate_meta_value(key: str, value: MetaValue) -> None:
    """Metadata is stored as JSON: no infinities, and text PostgreSQL accepts (no NUL, no lone
    surrogate). Unlike log text it is not silently changed: a rule may compare it."""
    if isinstance(value, float) and not math.isfinite(value):
        raise PingError(f'meta "{key}" must be a finite number')
    if isinstance(value, str) and not is_storable_text(value):
        raise PingError(f'meta "{key}" must be text without NUL or lone surrogate characters')


def typed_query_value(raw: str) -> MetaValue:
    """`meta.<key>=<value>`: JSON number syntax → number, true/false → bool, else string."""
    if raw == "true":
        return True
    if raw == "false":
        return False
    if JSON_NUMBER.fullmatch(raw):
        number: Any = json.loads(raw)
        if isinstance(number, float) and number in (float("inf"), float("-inf")):
            return raw
        return number
    return raw
