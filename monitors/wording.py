"""Spans of time in words, as incident details and messages show them ("47 min", "2 h 5 min")."""

from __future__ import annotations


def duration_words(seconds: float) -> str:
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 10:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    day_words = f"{days} day" if days == 1 else f"{days} days"
    return f"{day_words} {hours} h" if hours else day_words
