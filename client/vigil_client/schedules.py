"""Durations ("10m", "1h30m", 90) and the API's schedule objects."""

from __future__ import annotations

import re
from typing import Any

from vigil_client.crontab import MACROS

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(?:\s*([0-9]+)\s*([smhdw]))+\s*", re.IGNORECASE)
_PART = re.compile(r"([0-9]+)\s*([smhdw])", re.IGNORECASE)


def parse_duration(value: object, what: str = "duration") -> int:
    """Seconds from an int or a string such as "90", "10m", "1h30m", "2d"."""
    if isinstance(value, bool):  # bool is an int subclass: `grace = true` is a mistake.
        raise ValueError(f"{what}: expected seconds or a string like '10m', got {value!r}")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        seconds = int(value)
    elif isinstance(value, str) and _DURATION.fullmatch(value):
        seconds = sum(int(n) * _UNITS[u.lower()] for n, u in _PART.findall(value))
    else:
        raise ValueError(f"{what}: expected seconds or a string like '10m' or '1h30m', got {value!r}")
    if seconds < 0:
        raise ValueError(f"{what}: must not be negative, got {value!r}")
    return seconds


def format_duration_short(seconds: int) -> str:
    """90 -> "1m30s": the reverse of parse_duration, for messages."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def schedule_payload(
    *, schedule: str | None = None, interval: object = None, timezone: str | None = None
) -> dict[str, Any] | None:
    """The API's schedule object, or None when neither schedule nor interval is given."""
    if schedule is not None and interval is not None:
        raise ValueError("give either a cron schedule or an interval, not both")
    if schedule is not None:
        expression = " ".join(schedule.split())
        if expression.startswith("@"):
            if expression.lower() not in MACROS:
                raise ValueError(f"schedule: unknown macro {schedule!r} (try @hourly, @daily, @weekly...)")
            expression = MACROS[expression.lower()]
        if len(expression.split()) != 5:
            raise ValueError(f"schedule: expected five cron fields, got {schedule!r}")
        return {"kind": "cron", "expression": expression, "timezone": timezone or "UTC"}
    if interval is not None:
        if timezone is not None:
            raise ValueError("timezone only applies to a cron schedule")
        seconds = parse_duration(interval, "interval")
        if seconds <= 0:
            raise ValueError("interval: must be positive")
        return {"kind": "interval", "seconds": seconds}
    if timezone is not None:
        raise ValueError("timezone only applies to a cron schedule")
    return None
