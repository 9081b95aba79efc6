"""The dashboard's table rows as HTML, built in Python.

A dashboard has a thousand rows and is polled every few seconds. Rendering a row through the
template engine costs a template node per cell and a model instance per monitor; here a row
is one format string over a plain database row, with every piece of user text escaped. The
page around the rows stays in `templates/monitors/dashboard.html`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any, NamedTuple, cast
from urllib.parse import quote

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from monitors.models import Monitor, MonitorStatus
from monitors.schedule_words import schedule_in_words
from monitors.state_rows import schedule_of
from monitors.templatetags.vigil import FLAPPING_CHIP, duration_ms, run_strip, status_badge, when
from pings.selectors import RunOutcome

# What a row shows of a monitor, read with `values_list(*ROW_FIELDS, named=True)`.
ROW_FIELDS = (
    "id",
    "name",
    "slug",
    "tags",
    "status",
    "schedule_kind",
    "interval_seconds",
    "cron_expression",
    "timezone",
    "last_ping_at",
    "next_due_at",
    "last_duration_ms",
    "is_flapping",
)
PAUSED = '<span class="muted">paused</span>'
ROW = (
    '<tr id="monitor-{id}" data-status="{status}">'
    '<td class="col-status">{badge}{flapping}</td>'
    '<td class="name"><a href="{url}">{name}</a><span class="slug">{slug}</span>{tags}</td>'
    '<td class="schedule" data-label="Schedule">{schedule}</td>'
    '<td class="when" data-label="Last ping">{last_ping}</td>'
    '<td class="when" data-label="Next due">{next_due}</td>'
    '<td class="duration" data-label="Duration">{duration}</td>'
    '<td class="runs" data-label="Runs">{strip}</td>'
    "</tr>"
)


class MonitorRow(NamedTuple):
    """The row `values_list(*ROW_FIELDS, named=True)` gives (typed for the checker)."""

    id: int
    name: str
    slug: str
    tags: list[Any]
    status: str
    schedule_kind: str
    interval_seconds: int
    cron_expression: str
    timezone: str
    last_ping_at: datetime | None
    next_due_at: datetime | None
    last_duration_ms: int | None
    is_flapping: bool


def monitor_rows(monitors: QuerySet[Monitor]) -> list[MonitorRow]:
    """What the rows show of `monitors`; whether one flaps is read, not its held notifications."""
    flapping = ExpressionWrapper(Q(flap__isnull=False), output_field=BooleanField())
    return list(monitors.annotate(is_flapping=flapping).values_list(*ROW_FIELDS, named=True))


def _tags(tags: Sequence[Any]) -> str:
    links = "".join(
        f'<li><a class="tag" href="?tag={quote(tag, safe="")}">{escape(tag)}</a></li>'
        for tag in tags
        if isinstance(tag, str)
    )
    return f'<ul class="tags" aria-label="Tags">{links}</ul>' if links else ""


def dashboard_rows(
    monitors: Iterable[MonitorRow], outcomes: Mapping[int, Sequence[RunOutcome]]
) -> SafeString:
    """Every monitor's `<tr>`, in the order given."""
    # One reverse() for the page: the monitor id is its only variable part.
    url = reverse("monitor-detail", args=[1]).removesuffix("1/") + "{}/"
    rows = []
    for monitor in monitors:
        paused = monitor.status == MonitorStatus.PAUSED
        rows.append(
            ROW.format(
                id=monitor.id,
                status=monitor.status,
                badge=status_badge(monitor.status),
                flapping=f" {FLAPPING_CHIP}" if monitor.is_flapping else "",
                url=url.format(monitor.id),
                name=escape(monitor.name),
                slug=escape(monitor.slug),
                tags=_tags(monitor.tags or ()),
                # The row has the fields schedule_of reads.
                schedule=escape(schedule_in_words(schedule_of(cast(Monitor, monitor)))),
                last_ping=when(monitor.last_ping_at, "relative"),
                next_due=PAUSED if paused else when(monitor.next_due_at, "relative", "–"),
                duration=duration_ms(monitor.last_duration_ms),
                strip=run_strip(outcomes.get(monitor.id, ())),
            )
        )
    # Every value above is escaped, an enum, a number, or markup built by the tags.
    return mark_safe("".join(rows))
