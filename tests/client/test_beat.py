"""vigil_client.beat: Celery beat entries read from real Celery schedule objects."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

celery = pytest.importorskip("celery")

from celery.schedules import BaseSchedule, crontab, schedule, solar  # noqa: E402
from croniter import croniter  # noqa: E402
from vigil_client.beat import app_timezone, beat_entries, cron_field, map_schedule  # noqa: E402
from vigil_client.crontab import local_timezone  # noqa: E402


def a_solar_schedule() -> solar:
    """A real `solar` instance. Its constructor needs the `ephem` package (celery[solar]), which
    is not installed here; the mapping only looks at the class and the event."""
    instance: solar = solar.__new__(solar)
    instance.event = "sunrise"
    return instance


class EveryOtherDay(BaseSchedule):
    def is_due(self, last_run_at: datetime) -> Any:
        return (False, 3600.0)


@pytest.mark.parametrize(
    ("entry", "expression"),
    [
        (crontab(), "* * * * *"),
        (crontab(minute="*/15"), "*/15 * * * *"),
        (crontab(minute=0, hour=3), "0 3 * * *"),
        (crontab(minute=30, hour="9-17", day_of_week="mon-fri"), "30 9-17 * * 1-5"),
        (crontab(minute=0, hour=0, day_of_week="sun"), "0 0 * * 0"),
        (crontab(minute=0, hour=0, day_of_week="sat,sun"), "0 0 * * 0,6"),
        (crontab(minute="0,30", hour="*/6"), "0,30 */6 * * *"),
        (crontab(minute="*/20", hour="*/12"), "*/20 0,12 * * *"),
        (crontab(minute=5, hour=4, day_of_month="1,15"), "5 4 1,15 * *"),
        (crontab(minute=0, hour=12, day_of_month=1, month_of_year="*/3"), "0 12 1 */3 *"),
        (crontab(minute="7-9,20-40/10"), "7-9,20,30,40 * * * *"),
        (crontab(minute=0, hour=[1, 2, 3, 4, 5, 6, 7, 8]), "0 1-8 * * *"),
    ],
)
def test_crontab_entries_become_the_same_cron_expression(entry: Any, expression: str) -> None:
    mapped, _ = map_schedule(entry, "Europe/Berlin")

    assert mapped == {"kind": "cron", "expression": expression, "timezone": "Europe/Berlin"}
    # Over a year from a leap February (month ends, every weekday), the expression fires
    # exactly when Celery's crontab does (Celery's rule: every field matches, both day fields
    # included): the first 500 times.
    start = datetime(2024, 2, 20)
    celery_times = [
        start + timedelta(days=day, hours=hour, minutes=minute)
        for day in range(400)
        if (start + timedelta(days=day)).day in entry.day_of_month
        and (start + timedelta(days=day)).month in entry.month_of_year
        and (start + timedelta(days=day)).isoweekday() % 7 in entry.day_of_week
        for hour in sorted(entry.hour)
        for minute in sorted(entry.minute)
    ][:500]
    cron = croniter(expression, start - timedelta(minutes=1))
    cron_times = [cron.get_next(datetime) for _ in celery_times]
    assert cron_times == celery_times
    assert len(celery_times) > 2


@pytest.mark.parametrize(
    ("entry", "seconds"),
    [
        (30, 30),
        (30.0, 30),
        (0.5, 1),  # Rounded up: a ping more often than expected is harmless.
        (90.2, 91),
        (timedelta(minutes=5), 300),
        (timedelta(days=7), 604800),
        (schedule(timedelta(hours=1)), 3600),
        (schedule(run_every=45), 45),
    ],
)
def test_interval_entries_become_intervals(entry: Any, seconds: int) -> None:
    assert map_schedule(entry, "UTC") == ({"kind": "interval", "seconds": seconds}, seconds)


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (a_solar_schedule(), "solar schedules (sunrise) follow the sun"),
        (EveryOtherDay(), "custom schedule class tests.client.test_beat.EveryOtherDay"),
        (crontab(minute=0, hour=0, day_of_month=1, day_of_week="mon"), "both set"),
        (crontab(minute=0, nowfun=datetime.now), "its own clock"),
        (None, "no schedule"),
        (True, "not a schedule"),
        (0, "never comes round"),
        (timedelta(seconds=-5), "never comes round"),
        (float("nan"), "never comes round"),
        ("0 3 * * *", "custom schedule class builtins.str"),
    ],
)
def test_schedules_without_an_equivalent_say_why(entry: Any, reason: str) -> None:
    (parsed,) = beat_entries({"job": {"task": "jobs.run", "schedule": entry}})

    assert parsed.schedule is None
    assert parsed.problem is not None
    assert reason in parsed.problem
    assert parsed.describe() == f"not mapped: {parsed.problem}"


@pytest.mark.parametrize(
    ("entry", "grace"),
    [
        (crontab(), 60),
        (crontab(minute="*/15"), 900),
        (crontab(minute="*/7"), 240),  # :56 to :00 is the shortest gap.
        (crontab(minute=0), 3600),
        (crontab(minute=0, hour=3), 3600),
        (crontab(minute=0, hour=0, day_of_week="sun"), 3600),
        (10, 60),
        (600, 600),
        (timedelta(days=1), 3600),
    ],
)
def test_grace_is_one_period_from_a_minute_to_an_hour(entry: Any, grace: int) -> None:
    (parsed,) = beat_entries({"job": {"task": "jobs.run", "schedule": entry}})
    assert parsed.grace_seconds == grace


def test_a_real_apps_entries_in_its_time_zone() -> None:
    app = celery.Celery("beat-test", set_as_current=False)
    app.conf.timezone = "America/New_York"
    app.conf.beat_schedule = {
        "Nightly Backup!": {"task": "jobs.backup", "schedule": crontab(minute=0, hour=2)},
        "heartbeat": {"task": "jobs.heartbeat", "schedule": 60.0, "args": (1,), "kwargs": {"x": 2}},
        "sunrise": {"task": "jobs.lights", "schedule": a_solar_schedule()},
        "no task": {"schedule": 60.0},
    }

    entries = beat_entries(app.conf.beat_schedule, timezone=app_timezone(app.conf))

    assert [(e.name, e.slug, e.task) for e in entries] == [
        ("Nightly Backup!", "nightly-backup", "jobs.backup"),
        ("heartbeat", "heartbeat", "jobs.heartbeat"),
        ("sunrise", "sunrise", "jobs.lights"),
    ]
    backup, heartbeat, sunrise = entries
    assert backup.schedule == {"kind": "cron", "expression": "0 2 * * *", "timezone": "America/New_York"}
    assert backup.describe() == "cron 0 2 * * * (America/New_York)"
    assert heartbeat.schedule == {"kind": "interval", "seconds": 60}
    assert (heartbeat.args, heartbeat.kwargs) == ((1,), {"x": 2})
    assert heartbeat.describe() == "every 1m"
    assert sunrise.schedule is None


def test_the_apps_time_zone_follows_celerys_rules() -> None:
    app = celery.Celery("tz-test", set_as_current=False)
    assert app_timezone(app.conf) == "UTC"  # Celery's default: enable_utc, no timezone.
    app.conf.enable_utc = False
    assert app_timezone(app.conf) == local_timezone()  # Celery then uses the local zone.
    app.conf.timezone = "Asia/Tokyo"
    assert app_timezone(app.conf) == "Asia/Tokyo"
    app.conf.enable_utc = True
    assert app_timezone(app.conf) == "Asia/Tokyo"  # A timezone set wins either way.


@pytest.mark.parametrize(
    ("values", "low", "high", "text"),
    [
        (set(range(60)), 0, 59, "*"),
        ({0, 20, 40}, 0, 59, "*/20"),
        ({5}, 0, 59, "5"),
        ({1, 2}, 0, 59, "1,2"),
        ({1, 2, 3}, 0, 59, "1-3"),
        ({0, 1, 2, 10, 12}, 0, 23, "0-2,10,12"),
        ({1, 4, 7, 10}, 1, 12, "*/3"),
        ({2, 4, 6, 8, 10, 12}, 1, 12, "2,4,6,8,10,12"),  # Even months do not start at 1.
        ({0, 6}, 0, 6, "0,6"),
    ],
)
def test_cron_field(values: set[int], low: int, high: int, text: str) -> None:
    assert cron_field(values, low, high) == text
