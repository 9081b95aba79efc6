"""Template helpers for the web UI: status badges, times, durations and the run strip.

Built in Python as plain strings rather than as included templates or format_html: the
dashboard renders them for every row (a thousand monitors, thirty runs each), where template
inclusion is many times slower. Every piece of text that is not an enum value, a number or a
formatted date goes through `html.escape`; results are made SafeString directly (mark_safe's
lazy-string wrapper costs more than the rest of a tick strip).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from monitors.wording import duration_words
from pings.models import Run
from pings.selectors import RunOutcome, run_outcome

register = template.Library()

UTC_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
NO_RUNS = mark_safe('<span class="ticks ticks-empty muted">no runs yet</span>')  # a constant, no input


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@register.simple_tag
def status_badge(status: str) -> SafeString:
    """The status as a coloured badge that also says it in words (never colour alone)."""
    status = escape(status)
    return SafeString(f'<span class="status status-{status}">{status}</span>')


FLAPPING_CHIP = SafeString(
    '<span class="chip warn flapping" title="Problems and recoveries are held until it has been'
    ' stable for a while, then summarised in one notification">flapping</span>'
)


@register.simple_tag
def flapping_chip() -> SafeString:
    """Beside the status of a monitor whose alerts are held while it flaps (monitors.state.Flap)."""
    return FLAPPING_CHIP


@register.simple_tag
def when(moment: datetime | None, style: str = "exact", empty: str = "never") -> SafeString:
    """A `<time>`: "exact" shows the UTC time (vigil.js rewrites it to the viewer's zone);
    "short" the same without seconds and year, for tables; "relative" shows "3 min ago" /
    "in 5 min" with the exact time on hover."""
    if moment is None:
        return SafeString(f'<span class="muted">{escape(empty)}</span>')
    utc = _utc(moment).replace(microsecond=0)
    iso, exact = utc.isoformat(), utc.strftime(UTC_FORMAT)
    if style == "relative":
        return SafeString(f'<time datetime="{iso}" title="{exact}" data-relative>{relative(utc)}</time>')
    if style == "short":
        return SafeString(f'<time datetime="{iso}" data-local="short">{exact}</time>')
    return SafeString(f'<time datetime="{iso}" data-local>{exact}</time>')


@register.simple_tag
def when_in(moment: datetime, zone: str) -> SafeString:
    """A `<time>` shown in the named IANA zone ("Tue 3 Mar 2026, 03:00 CET"), with UTC on hover:
    for times that belong to a zone (a cron schedule's), which vigil.js leaves as they are."""
    utc = _utc(moment).replace(microsecond=0)
    local = utc.astimezone(ZoneInfo(zone))
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        utc.isoformat(),
        utc.strftime(UTC_FORMAT),
        f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}",
    )


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


# A strip is drawn as runs of equal outcomes: one element per stretch, its length in --n, the
# ticks cut out of it by a CSS mask. A thousand rows of thirty runs are a few thousand
# elements instead of thirty thousand, and a few hundred kilobytes instead of megabytes.
_STRETCH_ONE = {outcome: f'<span class="tick tick-{outcome.value}"></span>' for outcome in RunOutcome}
_STRETCH_MANY = {
    outcome: f'<span class="tick tick-{outcome.value}" style="--n:{{}}"></span>' for outcome in RunOutcome
}


def _stretches(outcomes: Sequence[RunOutcome], counts: dict[RunOutcome, int]) -> str:
    """The strip's elements, counting each outcome into `counts` on the way."""
    parts = []
    previous, count = outcomes[0], 0
    for outcome in (*outcomes, None):
        if outcome is previous:
            count += 1
            continue
        parts.append(_STRETCH_ONE[previous] if count == 1 else _STRETCH_MANY[previous].format(count))
        counts[previous] = counts.get(previous, 0) + count
        if outcome is None:
            break
        previous, count = outcome, 1
    return "".join(parts)


def strip_summary(counts: dict[RunOutcome, int]) -> str:
    """ "Last 30 runs: 28 success, 2 failed": what the strip shows, in words."""
    summary = ", ".join(f"{counts[outcome]} {outcome.label}" for outcome in RunOutcome if outcome in counts)
    total = sum(counts.values())
    return f"Last {total} runs: {summary}" if total > 1 else f"Last run: {summary}"


@register.simple_tag
def run_strip(outcomes: Sequence[RunOutcome]) -> SafeString:
    """The last runs as ticks, oldest on the left, with their counts in words (for screen
    readers and on hover). Every part is an enum value or a number: nothing to escape."""
    if not outcomes:
        return NO_RUNS
    counts: dict[RunOutcome, int] = {}
    ticks = _stretches(outcomes, counts)
    label = strip_summary(counts)
    return SafeString(f'<span class="ticks" role="img" aria-label="{label}" title="{label}">{ticks}</span>')


@register.simple_tag
def run_legend() -> SafeString:
    items = format_html_join(
        "",
        '<li><span class="tick tick-{}" aria-hidden="true"></span> {}</li>',
        ((outcome, outcome.label.capitalize()) for outcome in RunOutcome),
    )
    return format_html('<ul class="legend" aria-label="Run ticks">{}</ul>', items)


def _meta_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@register.simple_tag
def meta_chips(meta: object) -> SafeString:
    """A run's metadata as "key value" chips (long values are cut on screen, whole on hover)."""
    if not isinstance(meta, dict) or not meta:
        return mark_safe("")
    chips = format_html_join(
        "",
        '<li class="chip" title="{0}: {1}"><span class="key">{0}</span> {1}</li>',
        ((key, _meta_text(value)) for key, value in meta.items()),
    )
    return format_html('<ul class="chips" aria-label="Metadata">{}</ul>', chips)


@register.simple_tag
def run_badge(run: Run) -> SafeString:
    """A run's status in words and colour, and what else went wrong with it (overlap, too long)."""
    outcome = run_outcome(status=run.status, overlap=run.overlap, closed_reason=run.closed_reason)
    flag = (
        f' <span class="chip flag">{outcome.label}</span>'
        if outcome in (RunOutcome.OVERLAP, RunOutcome.TOO_LONG)
        else ""
    )
    status = escape(run.status)
    return SafeString(f'<span class="run-status run-{status}">{status}</span>{flag}')


@register.filter
def percent(rate: float | None) -> str:
    """A rate of 0..1 as "96.7 %" ("100 %" when whole), or "–" when there is none."""
    if rate is None:
        return "–"
    value = rate * 100
    return f"{value:.0f} %" if value == round(value) else f"{value:.1f} %"


@register.filter
def seconds_words(seconds: int | None) -> str:
    """ "5 min", "1 h 30 min", "2 days"."""
    return "–" if seconds is None else duration_words(seconds)
