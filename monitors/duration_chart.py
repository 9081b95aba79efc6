"""A monitor's run durations over time, laid out for a server-rendered SVG.

Pure geometry, no ORM: the points come from `pings.selectors.duration_points`, the median and
p95 lines from the monitor's stats (`pings.selectors.monitor_run_stats`, the API's figures),
so the chart and the numbers beside it never disagree.

Horizontal positions are percentages of the plot's width and vertical ones pixels of its
fixed height: the SVG stretches to any width while its text keeps its size (a scaled
viewBox would shrink the labels to nothing on a phone).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitors.templatetags.vigil import duration_ms
from pings.selectors import DurationPoint, RunOutcome

HEIGHT = 236  # the whole SVG, in pixels
TOP = 14  # room above the highest grid line for its label
BOTTOM = 204  # the zero line; the time labels sit below it
LEFT_PCT, RIGHT_PCT = 1.5, 98.5  # points keep off the edges so none is cut in half
Y_LINES = 4  # at most this many grid lines above zero
X_LABELS = 6  # at most this many time labels

# Grid steps a person reads at a glance, in milliseconds.
_DURATION_STEPS = [
    factor * unit for unit in (1, 10, 100, 1000) for factor in (1, 2, 5) if factor * unit < 10_000
] + [s * 1000 for s in (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)]
_TIME_STEPS = [timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720)] + [
    timedelta(days=d) for d in (1, 2, 7, 14, 30, 60, 90, 180, 365)
]


@dataclass(frozen=True)
class Point:
    x: float  # percent of the plot's width
    y: float  # pixels from the top
    outcome: RunOutcome
    title: str
    above: bool = False  # longer than the scale shows: drawn as a mark on its top edge


@dataclass(frozen=True)
class Level:
    """A horizontal line across the plot: a grid line or the median / p95."""

    y: float
    label: str
    kind: str  # "grid", "p50" or "p95"
    label_y: float  # where its label's baseline sits (the median's and p95's may be moved apart)


@dataclass(frozen=True)
class TimeLabel:
    x: float  # percent
    at: datetime
    text: str  # in UTC; vigil.js rewrites it to the viewer's zone
    style: str  # "time" or "date": what vigil.js shows of `at`
    anchor: str  # "start", "middle" or "end": the first and last labels keep inside the plot


@dataclass(frozen=True)
class DurationChart:
    points: list[Point]
    grid: list[Level]
    lines: list[Level]  # the median and p95, when known
    times: list[TimeLabel]
    height: int
    bottom: int
    summary: str  # the chart in one sentence, for screen readers

    @property
    def above(self) -> bool:
        return any(point.above for point in self.points)

    @property
    def counts(self) -> dict[RunOutcome, int]:
        counts: dict[RunOutcome, int] = {}
        for point in self.points:
            counts[point.outcome] = counts.get(point.outcome, 0) + 1
        return counts


# A run this many times longer than nearly all others (the 95th percentile of the points)
# would squash them flat at the bottom: the scale stops short of it and marks it on its top.
OUTLIER_FACTOR = 3


def duration_label(milliseconds: float) -> str:
    """A round duration, short: "0", "500 ms", "2 s", "1.5 s", "5 min", "2 h", "1 d"."""
    if milliseconds == 0:
        return "0"
    for unit, name in ((86_400_000, "d"), (3_600_000, "h"), (60_000, "min"), (1000, "s")):
        if milliseconds >= unit:
            value = milliseconds / unit
            return f"{value:.0f} {name}" if value == round(value) else f"{value:.1f} {name}"
    return f"{milliseconds:.0f} ms"


def _duration_scale(highest: float) -> tuple[int, int]:
    """The grid step and the top of the scale: the first step that needs at most Y_LINES lines."""
    for step in _DURATION_STEPS:
        lines = max(1, math.ceil(highest / step))
        if lines <= Y_LINES:
            return step, step * lines
    days = 86_400_000 * max(1, math.ceil(highest / 86_400_000 / Y_LINES))
    return days, days * max(1, math.ceil(highest / days))


def _time_labels(first: datetime, last: datetime, x_of: Callable[[datetime], float]) -> list[TimeLabel]:
    span = last - first
    step = next((step for step in _TIME_STEPS if span / step <= X_LABELS), _TIME_STEPS[-1])
    style = "time" if step < timedelta(days=1) else "date"
    # Round times (whole hours, midnights) in UTC; most zones are whole hours away from it.
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    at = epoch + step * math.ceil((first - epoch) / step)
    labels = []
    while at <= last:
        x = x_of(at)
        anchor = "start" if x < 6 else "end" if x > 94 else "middle"
        text = f"{at:%H:%M}" if style == "time" else f"{at.day} {at:%b}"
        labels.append(TimeLabel(x=x, at=at, text=text, style=style, anchor=anchor))
        at += step
    return labels


def _point_title(point: DurationPoint) -> str:
    parts = [point.outcome.label, f"{point.finished_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"]
    parts.append(duration_ms(point.duration_ms))
    if point.exit_code is not None:
        parts.append(f"exit {point.exit_code}")
    return " · ".join(parts)


def duration_chart(
    points: Sequence[DurationPoint], *, p50: int | None, p95: int | None
) -> DurationChart | None:
    """The chart of `points` (oldest first), or None when there is nothing to draw."""
    if not points:
        return None
    durations = sorted(point.duration_ms for point in points)
    typical = durations[max(0, math.ceil(0.95 * len(durations)) - 1)]
    highest = max(duration for duration in durations if duration <= OUTLIER_FACTOR * typical)
    step, top = _duration_scale(max(highest, p50 or 0, p95 or 0, 1))

    def y_of(milliseconds: float) -> float:
        return round(BOTTOM - (BOTTOM - TOP) * min(milliseconds, top) / top, 1)

    first, last = points[0].finished_at, points[-1].finished_at
    span = (last - first).total_seconds()

    def x_of(at: datetime) -> float:
        if span <= 0:
            return 50.0
        return round(LEFT_PCT + (RIGHT_PCT - LEFT_PCT) * (at - first).total_seconds() / span, 2)

    grid = [
        Level(y=y_of(value), label=duration_label(value), kind="grid", label_y=y_of(value) + 4)
        for value in range(0, top + 1, step)
    ]
    lines = _percentile_lines(p50, p95, y_of)
    times = _time_labels(first, last, x_of) if span > 0 else []
    plotted = [
        Point(
            x=x_of(point.finished_at),
            y=y_of(point.duration_ms),
            outcome=point.outcome,
            title=_point_title(point),
            above=point.duration_ms > top,
        )
        for point in points
    ]
    summary = (
        f"Durations of the last {len(points)} finished runs, "
        f"{first.astimezone(UTC):%Y-%m-%d %H:%M} to {last.astimezone(UTC):%Y-%m-%d %H:%M} UTC: "
        f"shortest {duration_label(min(p.duration_ms for p in points))}, "
        f"longest {duration_label(max(p.duration_ms for p in points))}"
        + (f", median {duration_label(p50)}" if p50 is not None else "")
        + (f", p95 {duration_label(p95)}" if p95 is not None else "")
        + "."
    )
    return DurationChart(
        points=plotted, grid=grid, lines=lines, times=times, height=HEIGHT, bottom=BOTTOM, summary=summary
    )


def _percentile_lines(p50: int | None, p95: int | None, y_of: Callable[[float], float]) -> list[Level]:
    lines = []
    if p50 is not None:
        lines.append(
            Level(y=y_of(p50), label=f"median {duration_label(p50)}", kind="p50", label_y=y_of(p50) + 14)
        )
    if p95 is not None:
        lines.append(
            Level(y=y_of(p95), label=f"p95 {duration_label(p95)}", kind="p95", label_y=y_of(p95) - 5)
        )
    return lines
