"""Durations and log tails in words, as messages show them."""

from __future__ import annotations

import pytest

from alerts.delivery.render import (
    LOG_TAIL_CHARS,
    LOG_TAIL_LINES,
    duration_words,
    log_tail,
    milliseconds_words,
)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (59, "59 s"),
        (60, "1 min"),
        (192, "3 min 12 s"),
        (47 * 60 + 20, "47 min"),
        (3600, "1 h"),
        (2 * 3600 + 14 * 60, "2 h 14 min"),
        (86400, "1 day"),
        (3 * 86400 + 5 * 3600, "3 days 5 h"),
    ],
)
def test_durations_in_words(seconds: int, words: str) -> None:
    assert duration_words(seconds) == words


def test_short_runs_in_milliseconds() -> None:
    assert milliseconds_words(850) == "850 ms"
    assert milliseconds_words(5_000) == "5 s"


def test_the_log_tail_is_bounded_by_lines_and_characters() -> None:
    lines = [f"line {n}" for n in range(100)]
    assert log_tail("\n".join(lines) + "\n").splitlines() == lines[-LOG_TAIL_LINES:]
    assert len(log_tail("x" * 10_000)) == LOG_TAIL_CHARS
