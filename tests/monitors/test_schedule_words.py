"""Schedules in words: intervals and common cron shapes; anything else keeps its expression."""

from __future__ import annotations

import pytest

from monitors.schedule import Schedule
from monitors.schedule_words import cron_in_words, interval_in_words, schedule_in_words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "every second"),
        (30, "every 30 seconds"),
        (60, "every minute"),
        (90, "every 90 seconds"),
        (150, "every 2 minutes 30 seconds"),
        (300, "every 5 minutes"),
        (3600, "every hour"),
        (5400, "every 90 minutes"),
        (7200, "every 2 hours"),
        (86400, "every day"),
        (3 * 86400, "every 3 days"),
        (7 * 86400, "every week"),
        (3700, "every 1 hour 1 minute 40 seconds"),
    ],
)
def test_intervals(seconds: int, words: str) -> None:
    assert interval_in_words(seconds) == words


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("* * * * *", "every minute"),
        ("*/5 * * * *", "every 5 minutes"),
        ("*/1 * * * *", "every minute"),
        ("15 * * * *", "every hour at :15"),
        ("0,30 * * * *", "every hour at :00 and :30"),
        ("0 */6 * * *", "every 6 hours at :00"),
        ("0 9-17 * * *", "every hour from 09:00 to 17:00"),
        ("0 3 * * *", "03:00 daily"),
        ("30 2 * * 1-5", "02:30 on weekdays"),
        ("0 9,17 * * MON-FRI", "09:00 and 17:00 on weekdays"),
        ("0 10 * * 6,0", "10:00 on weekends"),
        ("0 8 * * 5,1,3", "08:00 on Mondays, Wednesdays and Fridays"),
        ("0 0 * * 7", "00:00 on Sundays"),
        ("0 0 1 * *", "00:00 on the 1st of every month"),
        ("0 12 2,3,22 * *", "12:00 on the 2nd, 3rd and 22nd of every month"),
        ("0 4 1 jan *", "04:00 on 1 January every year"),
        ("@hourly", "every hour at :00"),
        ("@daily", "00:00 daily"),
        ("@midnight", "00:00 daily"),
        ("@weekly", "00:00 on Sundays"),
        ("@monthly", "00:00 on the 1st of every month"),
        ("@yearly", "00:00 on 1 January every year"),
    ],
)
def test_common_cron_shapes(expression: str, words: str) -> None:
    assert cron_in_words(expression, "Europe/Berlin") == f"{words}, Europe/Berlin"


@pytest.mark.parametrize(
    "expression",
    [
        "*/7 * * * *",  # uneven across the hour: not "every 7 minutes"
        "0 3 1 * 1",  # day of month OR day of week
        "5 4 L * *",
        "0 0 1 1,4,7,10 *",
        "0-59/5 * * * *",
        "*/15 9-17 * * 1-5",
        "0,10,20,30,40 1,2 * * *",
    ],
)
def test_other_shapes_fall_back_to_the_expression(expression: str) -> None:
    assert cron_in_words(expression, "UTC") == f"cron {expression}, UTC"


def test_schedule_in_words_takes_both_kinds() -> None:
    assert schedule_in_words(Schedule(kind="interval", seconds=300)) == "every 5 minutes"
    assert (
        schedule_in_words(Schedule(kind="cron", expression="0 3 * * *", timezone="Europe/Berlin"))
        == "03:00 daily, Europe/Berlin"
    )
