"""Template helpers for the web UI: status badges, times, durations and the run strip.

Built in Python with format_html rather than as included templates: the dashboard renders
them for every row (a thousand monitors, thirty runs each), where template inclusion is
several times slower.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from alerts.wording import duration_words
from pings.selectors import RecentRun, RunOutcome

register = template.Library()

UTC_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
NO_RUNS = mark_safe('<span class="ticks ticks-empty muted">no runs yet</span>')  # a constant, no input


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@register.simple_tag
def status_badge(status: str) -> SafeString:
    """The status as a coloured badge that also says it in words (never colour alone)."""
    return format_html('<span class="status status-{}">{}</span>', status, status)


@register.simple_tag
def when(moment: datetime | None, style: str = "exact", empty: str = "never") -> SafeString:
    """A `<time>`: "exact" shows the UTC time (vigil.js rewrites it to the viewer's zone);
    "relative" shows "3 min ago" / "in 5 min" with the exact time on hover."""
    if moment is None:
        return format_html('<span class="muted">{}</span>', empty)
    utc = _utc(moment).replace(microsecond=0)
    exact = utc.strftime(UTC_FORMAT)
    if style == "relative":
        return format_html(
            '<time datetime="{}" title="{}" data-relative>{}</time>', utc.isoformat(), exact, relative(utc)
        )
    return format_html('<time datetime="{}" data-local>{}</time>', utc.isoformat(), exact)


def relative(moment: datetime, now: datetime | None = None) -> str:
    """ "3 min ago", "in 2 h 5 min": to the minute, or to the hour beyond a day, for a glance."""
    seconds = ((now or timezone.now()) - moment).total_seconds()
    if abs(seconds) < 5:
        return "just now"
    whole = int(abs(seconds))
    unit = 1 if whole < 60 else 60 if whole < 86400 else 3600
    span = duration_words(whole - whole % unit)
    return f"{span} ago" if seconds > 0 else f"in {span}"


@register.filter
def duration_ms(milliseconds: int | None) -> str:
    """A run's duration: "850 ms", "12.4 s", "3 min 5 s", "2 h 5 min"."""
    if milliseconds is None:
        return "–"
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    if milliseconds < 60_000:
        return f"{milliseconds / 1000:.1f} s"
    return duration_words(milliseconds / 1000)


# Each tick's markup up to its title's first word, per outcome.
_TICK_OPENINGS = {
    outcome: f'<span class="tick tick-{outcome.value}" title="{outcome.label}' for outcome in RunOutcome
}


def _tick(run: RecentRun) -> str:
    """One tick. Built as a plain string (a thousand rows of thirty): every part of it is an
    enum value, a number or a formatted date, never user input, so nothing needs escaping."""
    tick = _TICK_OPENINGS[run.outcome]
    if run.at is not None:
        tick += f" · {run.at} UTC"
    if run.duration_ms is not None:
        tick += f" · {duration_ms(run.duration_ms)}"
    if run.exit_code is not None:
        tick += f" · exit {run.exit_code}"
    return tick + '"></span>'


@register.simple_tag
def run_strip(runs: Sequence[RecentRun]) -> SafeString:
    """The last runs as ticks, oldest on the left; one sentence of counts for screen readers."""
    if not runs:
        return NO_RUNS
    counts = Counter(run.outcome for run in runs)
    summary = ", ".join(f"{counts[outcome]} {outcome.label}" for outcome in RunOutcome if counts[outcome])
    label = f"Last {len(runs)} runs: {summary}" if len(runs) > 1 else f"Last run: {summary}"
    ticks = "".join(_tick(run) for run in runs)
    return mark_safe(f'<span class="ticks" role="img" aria-label="{label}">{ticks}</span>')


@register.simple_tag
def run_legend() -> SafeString:
    items = format_html_join(
        "",
        '<li><span class="tick tick-{}" aria-hidden="true"></span> {}</li>',
        ((outcome, outcome.label.capitalize()) for outcome in RunOutcome),
    )
    return format_html('<ul class="legend" aria-label="Run ticks">{}</ul>', items)
