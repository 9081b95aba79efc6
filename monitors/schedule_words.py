"""Schedules in words for people: "every 5 minutes", "03:00 daily, Europe/Berlin".

Pure functions. Common cron shapes are put in words; anything else falls back to the
expression itself ("cron 5 4 L * *, UTC"), which is never wrong, only less friendly.
"""

from __future__ import annotations

from functools import lru_cache

from monitors.schedule import Schedule

_UNITS = (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTH_NUMBERS = {name[:3].lower(): number for number, name in enumerate(_MONTHS, start=1)}
_DAY_NUMBERS = {name[:3].lower(): number for number, name in enumerate(_DAYS)}
_WEEKDAYS = frozenset({1, 2, 3, 4, 5})
_WEEKEND = frozenset({0, 6})
_EVERY_DAY = frozenset(range(7))


def schedule_in_words(schedule: Schedule) -> str:
    if schedule.kind == "interval":
        return interval_in_words(schedule.seconds)
    return cron_in_words(schedule.expression, schedule.timezone)


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def interval_in_words(seconds: int) -> str:
    for unit, size in _UNITS:
        if seconds % size == 0 and (size > 1 or seconds < 120):
            count = seconds // size
            return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    parts: list[str] = []
    rest = seconds
    for unit, size in _UNITS[1:]:
        count, rest = divmod(rest, size)
        if count:
            parts.append(_plural(count, unit))
    return "every " + " ".join(parts)


@lru_cache(maxsize=1024)
def cron_in_words(expression: str, timezone: str) -> str:
    words = _cron_words(expression.strip())
    return f"{words or 'cron ' + expression}, {timezone}"


def _cron_words(expression: str) -> str | None:
    fields = _MACROS.get(expression.lower(), expression).split()
    if len(fields) != 5:
        return None
    minute, hour, day_of_month, month, day_of_week = fields
    days = _day_words(day_of_month, month, day_of_week)
    if days is None:
        return None
    minutes, hours = _numbers(minute, 0, 59), _numbers(hour, 0, 23)
    if minutes and hours:
        times = [f"{h:02d}:{m:02d}" for h in hours for m in minutes]
        if len(times) > 4:
            return None
        return f"{_and_list(times)} {days or 'daily'}"
    every = _every(minute, hour, minutes)
    if every is None:
        return None
    return f"{every} {days}" if days else every


def _every(minute: str, hour: str, minutes: list[int] | None) -> str | None:
    """Minute and hour fields that repeat within a day, or None for a shape we do not word."""
    if hour == "*":
        if minute == "*":
            return "every minute"
        step = _step(minute, 60)
        if step:
            return "every minute" if step == 1 else f"every {step} minutes"
        if minutes:
            past = _and_list([f":{m:02d}" for m in minutes])
            return f"every hour at {past}"
        return None
    if minutes is None or len(minutes) != 1:
        return None
    step = _step(hour, 24)
    if step:
        return f"every hour at :{minutes[0]:02d}" if step == 1 else f"every {step} hours at :{minutes[0]:02d}"
    span = _range(hour, 0, 23)
    if span:
        first, last = span
        return f"every hour from {first:02d}:{minutes[0]:02d} to {last:02d}:{minutes[0]:02d}"
    return None


def _day_words(day_of_month: str, month: str, day_of_week: str) -> str | None:
    """ "" for every day, words such as "on weekdays", or None for a shape we do not word."""
    weekdays = _weekdays(day_of_week)
    if weekdays is None:
        return None
    if day_of_month == "*" and month == "*":
        return _weekday_words(weekdays)
    if weekdays != _EVERY_DAY:
        return None  # day of month and day of week together mean either: too subtle for words
    dates = _numbers(day_of_month, 1, 31)
    if not dates or len(dates) > 3:
        return None
    if month == "*":
        return f"on the {_and_list([_ordinal(d) for d in dates])} of every month"
    months = _numbers(_names_to_numbers(month, _MONTH_NUMBERS), 1, 12)
    if months is None or len(months) != 1 or len(dates) != 1:
        return None
    return f"on {dates[0]} {_MONTHS[months[0] - 1]} every year"


def _weekday_words(weekdays: frozenset[int]) -> str:
    if weekdays == _EVERY_DAY:
        return ""
    if weekdays == _WEEKDAYS:
        return "on weekdays"
    if weekdays == _WEEKEND:
        return "on weekends"
    # Monday first, as people list a week.
    ordered = sorted(weekdays, key=lambda day: (day + 6) % 7)
    return "on " + _and_list([f"{_DAYS[day]}s" for day in ordered])


def _weekdays(field: str) -> frozenset[int] | None:
    if field in {"*", "?"}:
        return _EVERY_DAY
    days: set[int] = set()
    for part in _names_to_numbers(field, _DAY_NUMBERS).split(","):
        span = _range(part, 0, 7)
        single = _numbers(part, 0, 7)
        if span:
            days.update(range(span[0], span[1] + 1))
        elif single:
            days.update(single)
        else:
            return None
    return frozenset(day % 7 for day in days)  # 7 is Sunday too


def _names_to_numbers(field: str, names: dict[str, int]) -> str:
    lowered = field.lower()
    for name, number in names.items():
        lowered = lowered.replace(name, str(number))
    return lowered


def _numbers(field: str, low: int, high: int) -> list[int] | None:
    """A plain number or a comma list of them, each within bounds; else None."""
    parts = field.split(",")
    if not all(part.isdigit() for part in parts):
        return None
    values = sorted({int(part) for part in parts})
    return values if all(low <= value <= high for value in values) else None


def _step(field: str, cycle: int) -> int | None:
    """N of "*/N" when it divides the cycle evenly; "*/7" minutes is not "every 7 minutes"
    (the gap at each hour is 4 minutes), so it keeps its expression."""
    if field.startswith("*/") and field[2:].isdigit():
        step = int(field[2:])
        if 0 < step < cycle and cycle % step == 0:
            return step
    return None


def _range(field: str, low: int, high: int) -> tuple[int, int] | None:
    first, dash, last = field.partition("-")
    if not dash or not first.isdigit() or not last.isdigit():
        return None
    start, end = int(first), int(last)
    return (start, end) if low <= start < end <= high else None


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"
