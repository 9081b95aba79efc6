"""Tests for monitors.schedule: parsing, interval/cron math, DST rules and finish handling."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from monitors.schedule import (
    Schedule,
    ScheduleError,
    due_after_finish,
    next_due,
    parse_schedule,
    previous_due,
    timezone_names,
    upcoming_due_times,
    validate_cron_expression,
    validate_timezone,
)

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Asia/Kolkata",  # no DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Sao_Paulo",  # DST (midnight gap) until 2019
    "UTC",
]
DST_ZONES = [zone for zone in ZONES if zone not in ("Asia/Kolkata", "UTC")]
MACROS = ["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"]
# Starts in 2016 so Sao Paulo's last DST seasons are included.
RANGE_START = datetime(2016, 1, 1)
RANGE_END = datetime(2035, 12, 31)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)
MINUTE = timedelta(minutes=1)
# Brute-force window of the oracle test: a full day plus the largest DST shift.
ORACLE_WINDOW = timedelta(hours=26)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


def cron(expression: str, tz: str = "UTC") -> Schedule:
    return Schedule(kind="cron", expression=expression, timezone=tz)


def chain(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    results = []
    for _ in range(count):
        after = next_due(schedule, after)
        results.append(after)
    return results


# --- helpers that model the contract independently of the implementation -------------------------


@lru_cache(maxsize=64)
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """UTC offset changes of a zone within the tested range (daily scan, then bisection to the second)."""
    zone = ZoneInfo(zone_name)

    def offset(timestamp: int) -> timedelta | None:
        return datetime.fromtimestamp(timestamp, zone).utcoffset()

    found = []
    day = int(RANGE_START.replace(tzinfo=UTC).timestamp())
    while day < RANGE_END.replace(tzinfo=UTC).timestamp():
        low, high = day, day + 86400
        if offset(low) != offset(high):
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == offset(low) else (low, middle)
            found.append(datetime.fromtimestamp(high, UTC))
        day += 86400
    return tuple(found)


def wall_time(instant: datetime, zone: ZoneInfo) -> datetime:
    # fold=0: a naive wall time names the clock reading, not which pass through it.
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def is_first_occurrence(instant: datetime, zone: ZoneInfo) -> bool:
    """False for the second pass through a repeated (fall-back) wall time."""
    return wall_time(instant, zone).replace(tzinfo=zone).astimezone(UTC) == instant


def offset_change(instant: datetime, zone: ZoneInfo) -> timedelta:
    """How far the zone's clocks jump at `instant` (positive: spring forward)."""
    before = (instant - timedelta(seconds=1)).astimezone(zone).utcoffset()
    after = instant.astimezone(zone).utcoffset()
    assert before is not None
    assert after is not None
    return after - before


def skipped_walls_ending_at(instant: datetime, zone: ZoneInfo) -> list[datetime]:
    """Minute-aligned wall times skipped by a spring-forward gap that ends exactly at `instant`."""
    jump = offset_change(instant, zone)
    gap_end = wall_time(instant, zone)
    return [gap_end - MINUTE * n for n in range(1, jump // MINUTE + 1)]


def repeated_walls_starting_at(instant: datetime, zone: ZoneInfo) -> list[datetime]:
    """Minute-aligned wall times that a fall-back at `instant` makes occur a second time."""
    jump = offset_change(instant, zone)
    repeat_start = wall_time(instant, zone)
    return [repeat_start + MINUTE * n for n in range(-jump // MINUTE)]


@lru_cache(maxsize=4096)
def expanded_fields(expression: str) -> list[frozenset[int] | None]:
    """Allowed values per field (None = any), from croniter's own parser."""
    expanded, nth_weekday = croniter.expand(expression)
    assert not nth_weekday
    return [None if values == ["*"] else frozenset(int(v) for v in values) for values in expanded]


def wall_matches(expression: str, wall: datetime) -> bool:
    """Fast stand-in for croniter.match (vixie semantics: day fields OR-ed when both restricted)."""
    minute, hour, dom, month, dow = expanded_fields(expression)
    if not all(
        allowed is None or value in allowed
        for allowed, value in ((minute, wall.minute), (hour, wall.hour), (month, wall.month))
    ):
        return False
    dom_ok = dom is None or wall.day in dom
    dow_ok = dow is None or wall.isoweekday() % 7 in dow
    if dom is not None and dow is not None:
        return dom_ok or dow_ok
    return dom_ok and dow_ok


def is_due(expression: str, zone: ZoneInfo, instant: datetime) -> bool:
    """Whether a cron schedule fires at `instant` under the DST contract."""
    if wall_matches(expression, wall_time(instant, zone)) and is_first_occurrence(instant, zone):
        return True
    return any(wall_matches(expression, wall) for wall in skipped_walls_ending_at(instant, zone))


def minutes_after(instant: datetime, until: datetime) -> Iterator[datetime]:
    """Whole-minute instants in (instant, until]."""
    current = instant.astimezone(UTC).replace(second=0, microsecond=0) + MINUTE
    while current <= until:
        yield current
        current += MINUTE


def assert_fires_at(schedule: Schedule, result: datetime) -> None:
    """The result's local wall time matches, or it ends a gap that swallowed a matching wall time."""
    zone = ZoneInfo(schedule.timezone)
    wall = wall_time(result, zone)
    if croniter.match(schedule.expression, wall):
        assert is_first_occurrence(result, zone), f"{result} is the second occurrence of {wall}"
        return
    skipped = skipped_walls_ending_at(result, zone)
    assert skipped, f"{result} ({wall} local) does not match {schedule.expression!r}"
    assert any(croniter.match(schedule.expression, skipped_wall) for skipped_wall in skipped)


# --- strategies ---------------------------------------------------------------------------------


def cron_field(low: int, high: int) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    value_range = st.tuples(number, number).map(sorted).map(lambda pair: f"{pair[0]}-{pair[1]}")
    step = st.tuples(st.just("*") | value_range, st.integers(1, high - low + 1)).map(
        lambda parts: f"{parts[0]}/{parts[1]}"
    )
    single = number.map(str) | value_range | step
    return st.just("*") | single | st.lists(single, min_size=2, max_size=3).map(",".join)


def fires(expression: str) -> bool:
    try:
        validate_cron_expression(expression)
    except ScheduleError:
        return False  # e.g. "0 0 31 4 *"
    return True


# Daily-or-denser expressions around the small hours, where DST changes happen (local 00:00-03:00).
dst_prone_expressions = st.tuples(
    cron_field(0, 59), st.sampled_from(["*", "0", "1", "2", "3", "1-3", "*/2", "0,2"])
).map(lambda fields: f"{fields[0]} {fields[1]} * * *")
cron_expressions = (
    st.sampled_from(MACROS)
    | dst_prone_expressions
    | st.tuples(
        cron_field(0, 59), cron_field(0, 23), cron_field(1, 31), cron_field(1, 12), cron_field(0, 7)
    ).map(" ".join)
).filter(fires)


@st.composite
def cron_schedules(draw: st.DrawFn) -> Schedule:
    return cron(draw(cron_expressions), draw(st.sampled_from(ZONES)))


@st.composite
def skipped_walls(draw: st.DrawFn) -> tuple[str, datetime, datetime]:
    """A zone, the instant one of its spring-forward gaps ends, and a wall time the gap skips."""
    zone_name = draw(st.sampled_from(DST_ZONES))
    zone = ZoneInfo(zone_name)
    gap_end = draw(
        st.sampled_from([t for t in transitions(zone_name) if offset_change(t, zone) > timedelta(0)])
    )
    return zone_name, gap_end, draw(st.sampled_from(skipped_walls_ending_at(gap_end, zone)))


@st.composite
def repeated_walls(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and a wall time that one of its fall-back changes makes occur twice."""
    zone_name = draw(st.sampled_from(DST_ZONES))
    zone = ZoneInfo(zone_name)
    change = draw(
        st.sampled_from([t for t in transitions(zone_name) if offset_change(t, zone) < timedelta(0)])
    )
    return zone_name, draw(st.sampled_from(repeated_walls_starting_at(change, zone)))


@st.composite
def instants(draw: st.DrawFn, zone_name: str) -> datetime:
    """Aware instants in 2016-2035, half of them within four hours of one of the zone's DST changes
    (most of those in the 90 minutes before it, so gaps and repeated hours are reached).

    Some are expressed in the schedule's zone (so fold=1 inputs occur) rather than in UTC.
    """
    nearby = transitions(zone_name)
    if draw(st.booleans()) and nearby:
        seconds = st.integers(-90 * 60, 0) | st.integers(-4 * 3600, 4 * 3600)
        instant = draw(st.sampled_from(nearby)) + timedelta(seconds=draw(seconds))
    else:
        instant = draw(st.datetimes(RANGE_START, RANGE_END, timezones=st.just(UTC)))
    return instant.astimezone(ZoneInfo(zone_name)) if draw(st.booleans()) else instant


# --- property tests -----------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(data=st.data())
def test_next_due_is_later_utc_and_fires_per_the_expression(data: st.DataObject) -> None:
    schedule = data.draw(cron_schedules())
    after = data.draw(instants(schedule.timezone))

    result = next_due(schedule, after)

    assert result > after
    assert result.tzinfo is UTC
    assert_fires_at(schedule, result)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_next_due_is_the_first_due_minute_found_by_brute_force(data: st.DataObject) -> None:
    schedule = data.draw(cron_schedules())
    after = data.draw(instants(schedule.timezone))
    zone = ZoneInfo(schedule.timezone)
    window_end = after.astimezone(UTC) + ORACLE_WINDOW

    result = next_due(schedule, after)

    expected = next(
        (m for m in minutes_after(after, window_end) if is_due(schedule.expression, zone, m)), None
    )
    if expected is None:
        assert result > window_end
    else:
        assert result == expected


@PROPERTY_SETTINGS
@given(data=st.data())
def test_previous_due_is_the_due_instant_that_next_due_leads_to(data: st.DataObject) -> None:
    """previous_due(t) <= t < next_due(previous_due(t)): the same instants, DST gaps and folds included."""
    schedule = data.draw(cron_schedules())
    at = data.draw(instants(schedule.timezone))

    previous = previous_due(schedule, at)

    assert previous is not None
    assert previous <= at < next_due(schedule, previous)
    assert next_due(schedule, previous - timedelta(microseconds=1)) == previous


def test_previous_due_of_a_time_skipped_by_spring_forward_is_the_gap_end() -> None:
    # 02:30 in Berlin does not exist on 29 March 2026: due at 03:00 CEST (01:00 UTC).
    schedule = cron("30 2 * * *", "Europe/Berlin")
    assert previous_due(schedule, utc(2026, 3, 29, 1, 0)) == utc(2026, 3, 29, 1, 0)
    assert previous_due(schedule, utc(2026, 3, 29, 0, 59, 59)) == utc(2026, 3, 28, 1, 30)
    assert next_due(schedule, utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1, 0)


def test_previous_due_in_the_second_pass_of_a_repeated_hour_is_the_first_occurrence() -> None:
    # 02:30 happens twice in Berlin on 25 October 2026 (00:30 and 01:30 UTC); it fired at the first.
    schedule = cron("30 2 * * *", "Europe/Berlin")
    assert previous_due(schedule, utc(2026, 10, 25, 1, 15)) == utc(2026, 10, 25, 0, 30)
    assert previous_due(schedule, utc(2026, 10, 25, 1, 45)) == utc(2026, 10, 25, 0, 30)


def test_previous_due_needs_a_cron_schedule() -> None:
    with pytest.raises(ScheduleError):
        previous_due(Schedule(kind="interval", seconds=60), utc(2026, 1, 1))


@PROPERTY_SETTINGS
@given(data=st.data())
def test_next_due_is_monotonic_in_its_input(data: st.DataObject) -> None:
    schedule = data.draw(cron_schedules())
    earlier = data.draw(instants(schedule.timezone))
    # UTC arithmetic: adding to a zoned datetime would shift its wall time and drop fold.
    later = earlier.astimezone(UTC) + timedelta(seconds=data.draw(st.integers(0, 3 * 24 * 3600)))

    assert next_due(schedule, earlier) <= next_due(schedule, later)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_repeated_next_due_strictly_increases_and_never_fires_a_second_occurrence(
    data: st.DataObject,
) -> None:
    schedule = data.draw(cron_schedules())
    after = data.draw(instants(schedule.timezone))

    results = chain(schedule, after, 50)

    assert all(earlier < later for earlier, later in zip([after, *results], results, strict=False))
    for result in results:
        assert_fires_at(schedule, result)


@settings(max_examples=100, deadline=None)
@given(gap=skipped_walls(), lead_seconds=st.integers(1, 22 * 3600))
def test_daily_time_skipped_by_spring_forward_is_due_exactly_when_the_gap_ends(
    gap: tuple[str, datetime, datetime], lead_seconds: int
) -> None:
    zone_name, gap_end, skipped = gap
    schedule = cron(f"{skipped.minute} {skipped.hour} * * *", zone_name)

    assert next_due(schedule, gap_end - timedelta(seconds=lead_seconds)) == gap_end


@settings(max_examples=100, deadline=None)
@given(repeat=repeated_walls(), lead_seconds=st.integers(1, 22 * 3600), position=st.floats(0, 1))
def test_daily_time_repeated_by_fall_back_is_due_only_at_its_first_occurrence(
    repeat: tuple[str, datetime], lead_seconds: int, position: float
) -> None:
    zone_name, wall = repeat
    zone = ZoneInfo(zone_name)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    schedule = cron(f"{wall.minute} {wall.hour} * * *", zone_name)

    assert next_due(schedule, first - timedelta(seconds=lead_seconds)) == first
    # From anywhere between the two occurrences, the next slot is the following day's.
    assert next_due(schedule, first + (second - first) * position) > second


@PROPERTY_SETTINGS
@given(
    seconds=st.integers(1, 366 * 86400), after=st.datetimes(RANGE_START, RANGE_END, timezones=st.just(UTC))
)
def test_interval_is_due_exactly_that_many_seconds_later(seconds: int, after: datetime) -> None:
    schedule = Schedule(kind="interval", seconds=seconds)

    assert next_due(schedule, after) == after + timedelta(seconds=seconds)


# --- DST: spring forward ------------------------------------------------------------------------


def test_skipped_local_time_is_due_when_the_gap_ends() -> None:
    # 2026-03-29 Europe/Berlin: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:30 does not exist.
    schedule = cron("30 2 * * *", "Europe/Berlin")

    assert chain(schedule, utc(2026, 3, 28, 12), 3) == [
        utc(2026, 3, 29, 1, 0),  # gap end: 03:00 CEST
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
        utc(2026, 3, 31, 0, 30),
    ]


def test_skipped_local_time_is_due_when_the_gap_ends_in_new_york() -> None:
    # 2026-03-08 America/New_York: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    schedule = cron("30 2 * * *", "America/New_York")

    assert chain(schedule, utc(2026, 3, 7, 12), 2) == [utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)]


def test_several_skipped_local_times_are_due_once_when_the_gap_ends() -> None:
    # 02:00, 02:15, 02:30 and 02:45 Berlin are all skipped and all map to 01:00 UTC.
    schedule = cron("*/15 * * * *", "Europe/Berlin")

    assert chain(schedule, utc(2026, 3, 29, 0, 40), 4) == [
        utc(2026, 3, 29, 0, 45),  # 01:45 CET
        utc(2026, 3, 29, 1, 0),  # gap end, also 03:00 CEST itself
        utc(2026, 3, 29, 1, 15),
        utc(2026, 3, 29, 1, 30),
    ]


@pytest.mark.parametrize(
    ("tz", "after", "expected"),
    [
        # Berlin: 01:00 CET, then 02:00 is skipped and 03:00 CEST is the gap end.
        (
            "Europe/Berlin",
            utc(2026, 3, 28, 23, 30),
            [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)],
        ),
        # New York: 01:00 EST, then 02:00 is skipped and 03:00 EDT is the gap end.
        (
            "America/New_York",
            utc(2026, 3, 8, 5, 30),
            [utc(2026, 3, 8, 6), utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)],
        ),
    ],
)
def test_hourly_cron_loses_no_slot_and_fires_once_across_spring_forward(
    tz: str, after: datetime, expected: list[datetime]
) -> None:
    assert chain(cron("0 * * * *", tz), after, 3) == expected


def test_skipped_midnight_is_due_when_the_gap_ends() -> None:
    # 2018-11-04 America/Sao_Paulo: midnight (-03:00) jumped to 01:00 (-02:00), i.e. 03:00 UTC.
    schedule = cron("0 0 * * *", "America/Sao_Paulo")

    assert chain(schedule, utc(2018, 11, 3, 12), 2) == [utc(2018, 11, 4, 3), utc(2018, 11, 5, 2)]


def test_half_hour_gap_ends_on_a_real_slot_which_fires_once() -> None:
    # 2026-10-04 Australia/Lord_Howe: 02:00 (+10:30) jumps to 02:30 (+11:00), i.e. 15:30 UTC.
    schedule = cron("*/30 * * * *", "Australia/Lord_Howe")

    assert chain(schedule, utc(2026, 10, 3, 14, 45), 3) == [
        utc(2026, 10, 3, 15, 0),  # 01:30 +10:30
        utc(2026, 10, 3, 15, 30),  # skipped 02:00 and real 02:30 at the same instant
        utc(2026, 10, 3, 16, 0),
    ]


# --- DST: fall back -----------------------------------------------------------------------------


def test_repeated_local_time_is_due_once_at_its_first_occurrence() -> None:
    # 2026-11-01 America/New_York: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    schedule = cron("30 1 * * *", "America/New_York")

    assert chain(schedule, utc(2026, 11, 1, 0), 2) == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


@pytest.mark.parametrize(
    ("tz", "after", "expected"),
    [
        # Berlin 2026-10-25: 02:00 and 02:30 CEST fire; 02:00 and 02:30 CET (01:00, 01:30 UTC) do not.
        (
            "Europe/Berlin",
            utc(2026, 10, 24, 23, 45),
            [utc(2026, 10, 25, 0), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2)],
        ),
        # New York 2026-11-01: 01:00 and 01:30 EDT fire; 01:00 and 01:30 EST (06:00, 06:30 UTC) do not.
        (
            "America/New_York",
            utc(2026, 11, 1, 4, 45),
            [utc(2026, 11, 1, 5), utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7)],
        ),
    ],
)
def test_half_hourly_cron_skips_the_second_pass_through_the_repeated_hour(
    tz: str, after: datetime, expected: list[datetime]
) -> None:
    assert chain(cron("*/30 * * * *", tz), after, 3) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("*/30 * * * *", utc(2026, 11, 1, 7)),  # 02:00 EST
        ("30 1 * * *", utc(2026, 11, 2, 6, 30)),  # today's 01:30 already fired at 05:30 UTC
        ("15 1 * * *", utc(2026, 11, 2, 6, 15)),
    ],
)
def test_after_inside_the_second_pass_of_the_repeated_hour_skips_its_wall_times(
    expression: str, expected: datetime
) -> None:
    tz = "America/New_York"
    after = datetime(2026, 11, 1, 1, 10, fold=1, tzinfo=ZoneInfo(tz))  # 01:10 EST
    assert after.astimezone(UTC) == utc(2026, 11, 1, 6, 10)

    assert next_due(cron(expression, tz), after) == expected


def test_after_inside_the_first_pass_of_the_repeated_hour_still_fires_later_wall_times() -> None:
    after = utc(2026, 10, 25, 0, 10)  # 02:10 CEST, first pass

    assert next_due(cron("30 2 * * *", "Europe/Berlin"), after) == utc(2026, 10, 25, 0, 30)


# --- next_due basics ----------------------------------------------------------------------------


def test_next_due_accepts_any_zone_and_returns_utc() -> None:
    after = datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("Asia/Kolkata"))  # 06:30 UTC

    result = next_due(cron("0 * * * *"), after)

    assert result == utc(2026, 6, 1, 7)
    assert result.tzinfo is UTC


def test_next_due_is_strictly_after_a_matching_instant() -> None:
    assert next_due(cron("0 3 * * *"), utc(2026, 1, 1, 3)) == utc(2026, 1, 2, 3)
    assert next_due(cron("0 3 * * *"), utc(2026, 1, 1, 2, 59, 59, 999999)) == utc(2026, 1, 1, 3)


def test_cron_is_evaluated_in_the_schedule_time_zone() -> None:
    schedule = cron("0 3 * * *", "Europe/Berlin")

    assert next_due(schedule, utc(2026, 1, 1)) == utc(2026, 1, 1, 2)
    assert next_due(schedule, utc(2026, 7, 1)) == utc(2026, 7, 1, 1)


def test_day_of_month_and_day_of_week_are_either_or_when_both_are_restricted() -> None:
    # 2026-01-01 is a Thursday; the 13th of January is a Tuesday.
    schedule = cron("0 0 13 * 5")

    assert chain(schedule, utc(2026, 1, 1), 3) == [utc(2026, 1, 2), utc(2026, 1, 9), utc(2026, 1, 13)]


def test_interval_counts_elapsed_time_across_a_dst_change_and_keeps_microseconds() -> None:
    # 01:59:30 CET is 00:59:30 UTC; 90 s later the wall clock reads 03:01 CEST, not 02:01.
    after = datetime(2026, 3, 29, 1, 59, 30, 123456, tzinfo=ZoneInfo("Europe/Berlin"))

    result = next_due(Schedule(kind="interval", seconds=90), after)

    assert result == utc(2026, 3, 29, 1, 1, 0, 123456)
    assert result.tzinfo is UTC


def test_next_due_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_due(Schedule(kind="interval", seconds=60), datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (Schedule(kind="interval", seconds=0), "interval must be at least 1 second"),
        (cron("61 * * * *"), "invalid cron expression: '61 * * * *'"),
        (cron("0 * * * *", "Mars/Base"), "unknown time zone: 'Mars/Base'"),
    ],
)
def test_next_due_rejects_invalid_schedules_built_without_parsing(schedule: Schedule, message: str) -> None:
    with pytest.raises(ScheduleError) as excinfo:
        next_due(schedule, utc(2026, 1, 1))

    assert str(excinfo.value) == message


# --- parse_schedule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kind": "interval", "seconds": 300}, Schedule(kind="interval", seconds=300)),
        ({"kind": "interval", "seconds": 1}, Schedule(kind="interval", seconds=1)),
        ({"kind": "cron", "expression": "0 3 * * *"}, cron("0 3 * * *", "UTC")),
        (
            {"kind": "cron", "expression": "0 3 * * *", "timezone": "Europe/Berlin"},
            cron("0 3 * * *", "Europe/Berlin"),
        ),
        ({"kind": "cron", "expression": "  */5\t9-17  * *   MON-FRI "}, cron("*/5 9-17 * * MON-FRI")),
        ({"kind": "cron", "expression": "0 0 1,15 jan-jun 7"}, cron("0 0 1,15 jan-jun 7")),
        ({"kind": "cron", "expression": "@Daily"}, cron("@daily")),
        *[({"kind": "cron", "expression": macro}, cron(macro)) for macro in MACROS],
    ],
)
def test_parse_schedule_accepts_valid_schedules(data: dict[str, object], expected: Schedule) -> None:
    assert parse_schedule(data) == expected


@pytest.mark.parametrize(
    "schedule",
    [Schedule(kind="interval", seconds=60), cron("0 3 * * *", "America/New_York")],
)
def test_parse_schedule_round_trips_dataclass_fields(schedule: Schedule) -> None:
    assert parse_schedule(dataclasses.asdict(schedule)) == schedule


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "schedule must be an object"),
        ([("kind", "interval")], "schedule must be an object"),
        ({}, "schedule kind is required"),
        ({"kind": "weekly"}, "unknown schedule kind: 'weekly'"),
        ({"kind": ["cron"]}, "unknown schedule kind: ['cron']"),
        ({"kind": "interval"}, "interval seconds must be an integer"),
        ({"kind": "interval", "seconds": "60"}, "interval seconds must be an integer"),
        ({"kind": "interval", "seconds": 60.0}, "interval seconds must be an integer"),
        ({"kind": "interval", "seconds": True}, "interval seconds must be an integer"),
        ({"kind": "interval", "seconds": 0}, "interval must be at least 1 second"),
        ({"kind": "interval", "seconds": -60}, "interval must be at least 1 second"),
        ({"kind": "interval", "seconds": 100 * 366 * 86400 + 1}, "interval must be at most 36600 days"),
        ({"kind": "interval", "seconds": 60, "timezon": "UTC"}, "unknown schedule field: 'timezon'"),
        (
            {"kind": "interval", "seconds": 60, "expression": "0 * * * *"},
            "'expression' is not allowed for interval schedules",
        ),
        (
            {"kind": "cron", "expression": "0 * * * *", "seconds": 60},
            "'seconds' is not allowed for cron schedules",
        ),
        ({"kind": "cron"}, "cron expression must be a string"),
        ({"kind": "cron", "expression": 5}, "cron expression must be a string"),
        ({"kind": "cron", "expression": "61 * * * *"}, "invalid cron expression: '61 * * * *'"),
        ({"kind": "cron", "expression": "* 24 * * *"}, "invalid cron expression: '* 24 * * *'"),
        ({"kind": "cron", "expression": "* * 0 * *"}, "invalid cron expression: '* * 0 * *'"),
        ({"kind": "cron", "expression": "* * * 13 *"}, "invalid cron expression: '* * * 13 *'"),
        ({"kind": "cron", "expression": "* * * * 8"}, "invalid cron expression: '* * * * 8'"),
        ({"kind": "cron", "expression": "*/0 * * * *"}, "invalid cron expression: '*/0 * * * *'"),
        ({"kind": "cron", "expression": ""}, "invalid cron expression: ''"),
        ({"kind": "cron", "expression": "* * * *"}, "invalid cron expression: '* * * *'"),
        ({"kind": "cron", "expression": "0 * * * * *"}, "invalid cron expression: '0 * * * * *'"),
        ({"kind": "cron", "expression": "0 0 * * * * 2030"}, "invalid cron expression: '0 0 * * * * 2030'"),
        ({"kind": "cron", "expression": "@reboot"}, "invalid cron expression: '@reboot'"),
        ({"kind": "cron", "expression": "@every 5m"}, "invalid cron expression: '@every 5m'"),
        ({"kind": "cron", "expression": "H * * * *"}, "invalid cron expression: 'H * * * *'"),
        ({"kind": "cron", "expression": "R * * * *"}, "invalid cron expression: 'R * * * *'"),
        ({"kind": "cron", "expression": "0 0 30 2 *"}, "invalid cron expression: '0 0 30 2 *'"),
        ({"kind": "cron", "expression": "0 0 31 4,6 *"}, "invalid cron expression: '0 0 31 4,6 *'"),
        (
            {"kind": "cron", "expression": "0 3 * * *", "timezone": "Mars/Base"},
            "unknown time zone: 'Mars/Base'",
        ),
        (
            {"kind": "cron", "expression": "0 3 * * *", "timezone": "europe/berlin"},
            "unknown time zone: 'europe/berlin'",
        ),
        ({"kind": "cron", "expression": "0 3 * * *", "timezone": "Europe"}, "unknown time zone: 'Europe'"),
        (
            {"kind": "cron", "expression": "0 3 * * *", "timezone": "localtime"},
            "unknown time zone: 'localtime'",
        ),
        ({"kind": "cron", "expression": "0 3 * * *", "timezone": ""}, "unknown time zone: ''"),
        ({"kind": "cron", "expression": "0 3 * * *", "timezone": None}, "time zone must be a string"),
    ],
)
def test_parse_schedule_rejects_invalid_schedules_with_a_readable_message(data: object, message: str) -> None:
    with pytest.raises(ScheduleError) as excinfo:
        parse_schedule(data)

    assert str(excinfo.value) == message


def test_schedule_error_is_a_value_error() -> None:
    assert issubclass(ScheduleError, ValueError)


def test_validate_timezone_returns_known_names() -> None:
    assert validate_timezone("Pacific/Chatham") == "Pacific/Chatham"


def test_validate_cron_expression_normalises_whitespace_and_macro_case() -> None:
    assert validate_cron_expression(" 0  3 * *\t1-5 ") == "0 3 * * 1-5"
    assert validate_cron_expression(" @HOURLY ") == "@hourly"


# --- due_after_finish ---------------------------------------------------------------------------

HOURLY = cron("0 * * * *")
TEN_MINUTES = 600


@pytest.mark.parametrize(
    ("finished_at", "awaited_due", "expected"),
    [
        pytest.param(utc(2026, 5, 1, 10, 0, 30), utc(2026, 5, 1, 10), utc(2026, 5, 1, 11), id="on time"),
        pytest.param(utc(2026, 5, 1, 10, 45), utc(2026, 5, 1, 10), utc(2026, 5, 1, 11), id="late"),
        pytest.param(
            utc(2026, 5, 1, 11, 20), utc(2026, 5, 1, 10), utc(2026, 5, 1, 12), id="late past the next slot"
        ),
        pytest.param(
            utc(2026, 5, 1, 9, 55), utc(2026, 5, 1, 10), utc(2026, 5, 1, 11), id="early within grace"
        ),
        pytest.param(
            utc(2026, 5, 1, 9, 50), utc(2026, 5, 1, 10), utc(2026, 5, 1, 11), id="early at grace edge"
        ),
        pytest.param(
            utc(2026, 5, 1, 9, 40), utc(2026, 5, 1, 10), utc(2026, 5, 1, 10), id="early outside grace"
        ),
        pytest.param(
            utc(2026, 5, 1, 9, 55), None, utc(2026, 5, 1, 11), id="nothing awaited, next slot within grace"
        ),
        pytest.param(
            utc(2026, 5, 1, 9, 40), None, utc(2026, 5, 1, 10), id="nothing awaited, next slot outside grace"
        ),
    ],
)
def test_hourly_cron_with_ten_minute_grace_after_finish(
    finished_at: datetime, awaited_due: datetime | None, expected: datetime
) -> None:
    result = due_after_finish(
        HOURLY, finished_at=finished_at, grace_seconds=TEN_MINUTES, awaited_due=awaited_due
    )

    assert result == expected


def test_early_finish_within_grace_counts_for_the_slot_across_days() -> None:
    schedule = cron("0 3 * * *", "Europe/Berlin")  # 01:00 UTC in summer

    result = due_after_finish(
        schedule,
        finished_at=utc(2026, 7, 1, 0, 58),
        grace_seconds=300,
        awaited_due=utc(2026, 7, 1, 1),
    )

    assert result == utc(2026, 7, 2, 1)


def test_early_finish_without_grace_does_not_count_for_the_slot() -> None:
    result = due_after_finish(
        HOURLY, finished_at=utc(2026, 5, 1, 9, 59, 59), grace_seconds=0, awaited_due=utc(2026, 5, 1, 10)
    )

    assert result == utc(2026, 5, 1, 10)


def test_interval_finish_restarts_the_interval_regardless_of_grace() -> None:
    schedule = Schedule(kind="interval", seconds=3600)
    finished_at = utc(2026, 5, 1, 9, 55, 12)

    result = due_after_finish(
        schedule, finished_at=finished_at, grace_seconds=TEN_MINUTES, awaited_due=utc(2026, 5, 1, 10)
    )

    assert result == utc(2026, 5, 1, 10, 55, 12)


def test_grace_is_elapsed_time_even_when_the_awaited_slot_is_given_in_local_time() -> None:
    # Hourly in Berlin on 2026-03-29. The awaited slot 04:00 CEST is 02:00 UTC, so a 90-minute
    # grace starts at 00:30 UTC; wall-clock arithmetic would wrongly give 02:30 "local".
    berlin = ZoneInfo("Europe/Berlin")

    result = due_after_finish(
        cron("0 * * * *", "Europe/Berlin"),
        finished_at=utc(2026, 3, 29, 0, 45),
        grace_seconds=90 * 60,
        awaited_due=datetime(2026, 3, 29, 4, 0, tzinfo=berlin),
    )

    assert result == utc(2026, 3, 29, 3)


def test_due_after_finish_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="finished_at must be an aware datetime"):
        due_after_finish(HOURLY, finished_at=datetime(2026, 5, 1, 10), grace_seconds=0, awaited_due=None)


# ---- upcoming due times for people: the wall time named and whether DST moves it


def test_upcoming_due_times_name_the_wall_time_a_spring_gap_skips() -> None:
    schedule = Schedule(kind="cron", expression="*/30 2 * * *", timezone="Europe/Berlin")
    times = upcoming_due_times(schedule, datetime(2026, 3, 28, 12, tzinfo=UTC), 4)
    assert [(due.wall, due.shift, due.at) for due in times] == [
        # 02:00 and 02:30 do not exist on 29 March: both due when the gap ends, so once.
        (datetime(2026, 3, 29, 2, 0), "gap", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (datetime(2026, 3, 30, 2, 0), None, datetime(2026, 3, 30, 0, 0, tzinfo=UTC)),
        (datetime(2026, 3, 30, 2, 30), None, datetime(2026, 3, 30, 0, 30, tzinfo=UTC)),
        (datetime(2026, 3, 31, 2, 0), None, datetime(2026, 3, 31, 0, 0, tzinfo=UTC)),
    ]
    assert all(due.at == next_due(schedule, due.at - timedelta(seconds=1)) for due in times)


def test_upcoming_due_times_mark_a_wall_time_an_autumn_fold_repeats() -> None:
    schedule = Schedule(kind="cron", expression="30 2 * * *", timezone="Europe/Berlin")
    times = upcoming_due_times(schedule, datetime(2026, 10, 24, 12, tzinfo=UTC), 2)
    assert [(due.shift, due.at) for due in times] == [
        ("fold", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # the first 02:30, still CEST
        (None, datetime(2026, 10, 26, 1, 30, tzinfo=UTC)),
    ]


def test_upcoming_due_times_of_an_interval_have_no_wall_time() -> None:
    times = upcoming_due_times(
        Schedule(kind="interval", seconds=60), datetime(2026, 3, 29, 0, 59, tzinfo=UTC), 2
    )
    assert [(due.at.minute, due.wall, due.shift) for due in times] == [(0, None, None), (1, None, None)]


def test_timezone_names_are_the_zones_that_validate() -> None:
    names = timezone_names()
    assert "Europe/Berlin" in names
    assert "localtime" not in names
    assert names == sorted(names)
    assert all(validate_timezone(name) == name for name in names[:50])
