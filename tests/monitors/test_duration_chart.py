"""The duration chart's geometry: scale, outliers, lines, time labels, and nothing to draw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitors.duration_chart import BOTTOM, TOP, duration_chart, duration_label
from pings.selectors import DurationPoint, RunOutcome

START = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


def points(*durations: int, every: timedelta = timedelta(hours=1)) -> list[DurationPoint]:
    return [
        DurationPoint(
            id=index + 1,
            outcome=RunOutcome.FAILED if duration > 50_000 else RunOutcome.SUCCESS,
            finished_at=START + every * index,
            duration_ms=duration,
            exit_code=0,
        )
        for index, duration in enumerate(durations)
    ]


def test_nothing_to_draw_is_none() -> None:
    assert duration_chart([], p50=None, p95=None) is None


def test_points_span_the_plot_and_the_scale_has_round_steps() -> None:
    chart = duration_chart(points(10_000, 20_000, 35_000), p50=20_000, p95=35_000)
    assert chart is not None
    assert [point.x for point in chart.points] == [1.5, 50.0, 98.5]
    assert [level.label for level in chart.grid] == ["0", "10 s", "20 s", "30 s", "40 s"]
    assert chart.grid[0].y == BOTTOM
    assert chart.grid[-1].y == TOP
    assert chart.points[1].y == chart.grid[2].y  # 20 s on the 20 s line
    assert [line.kind for line in chart.lines] == ["p50", "p95"]
    assert chart.lines[0].y == chart.points[1].y
    assert chart.lines[0].label == "median 20 s"
    assert "shortest 10 s, longest 35 s, median 20 s, p95 35 s" in chart.summary


def test_an_outlier_is_marked_on_top_instead_of_flattening_the_rest() -> None:
    chart = duration_chart(points(*[30_000] * 30, 3_600_000), p50=30_000, p95=30_000)
    assert chart is not None
    assert chart.grid[-1].label == "30 s"
    assert [point.above for point in chart.points] == [False] * 30 + [True]
    assert chart.points[-1].y == TOP
    assert chart.above
    assert "longest 1 h" in chart.summary


def test_time_labels_are_round_and_inside_the_plot() -> None:
    chart = duration_chart(points(*[1000] * 49, every=timedelta(hours=1)), p50=None, p95=None)
    assert chart is not None
    assert chart.lines == []
    labels = chart.times
    assert 2 <= len(labels) <= 6
    assert all(label.style == "time" for label in labels)
    assert all(label.at.minute == 0 and label.at.hour % 12 == 0 for label in labels)
    assert all(1.5 <= label.x <= 98.5 for label in labels)
    days = duration_chart(points(*[1000] * 60, every=timedelta(days=1)), p50=None, p95=None)
    assert days is not None
    assert all(label.style == "date" for label in days.times)
    assert days.times[0].text[0].isdigit()


def test_one_run_sits_in_the_middle() -> None:
    chart = duration_chart(points(4000), p50=4000, p95=4000)
    assert chart is not None
    assert chart.points[0].x == 50.0
    assert chart.times == []


def test_duration_labels() -> None:
    assert [duration_label(ms) for ms in (0, 500, 1000, 1500, 60_000, 90_000, 3_600_000, 86_400_000)] == [
        "0",
        "500 ms",
        "1 s",
        "1.5 s",
        "1 min",
        "1.5 min",
        "1 h",
        "1 d",
    ]
