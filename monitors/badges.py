"""Status badges (`/badge/<badge_key>/<slug>.svg`, `/badge/<badge_key>.svg`) in the shields.io look.

Badges are meant to be published (READMEs, wikis), so they have their own key and say only
a label and one word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from monitors.models import MonitorStatus
from monitors.selectors import monitors_in_scope, project_by_badge_key

GREEN, ORANGE, RED, GREY = "#4c1", "#fe7d37", "#e05d44", "#9f9f9f"

# What a badge reader cares about: is it healthy. A run in progress is as good as up.
MESSAGES: dict[str, tuple[str, str]] = {
    MonitorStatus.UP: ("up", GREEN),
    MonitorStatus.RUNNING: ("up", GREEN),
    MonitorStatus.LATE: ("late", ORANGE),
    MonitorStatus.DOWN: ("down", RED),
    MonitorStatus.NEW: ("new", GREY),
    MonitorStatus.PAUSED: ("paused", GREY),
}
# A group badge shows its worst member; "up" outranks new and paused so that a project with
# some idle monitors still reads as healthy.
SEVERITY = ["down", "late", "up", "new", "paused"]
MAX_LABEL_LENGTH = 60
# What XML 1.0 forbids even escaped. Names and tags may hold it; a badge that holds it is no SVG.
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Approximate advance widths of Verdana at 11 px, the shields.io font; others count as 7.
_NARROW = dict.fromkeys("ijlI.,:;'!|", 3.5) | dict.fromkeys("ftr -()[]", 4.5)
_WIDE = dict.fromkeys("mwMW", 10.0) | dict.fromkeys("ABCDEFGHJKLNOPQRSTUVXYZ", 7.6)
_CHAR_WIDTHS = _NARROW | _WIDE | dict.fromkeys("csz", 5.8)


def text_width(text: str) -> int:
    return round(sum(_CHAR_WIDTHS.get(char, 7.0) for char in text))


@dataclass(frozen=True)
class Badge:
    label: str
    message: str
    color: str

    @property
    def label_width(self) -> int:
        return text_width(self.label) + 10

    @property
    def message_width(self) -> int:
        return text_width(self.message) + 10

    @property
    def width(self) -> int:
        return self.label_width + self.message_width

    @property
    def label_x(self) -> float:
        return self.label_width / 2

    @property
    def message_x(self) -> float:
        return self.label_width + self.message_width / 2


def badge_for(label: str, statuses: Iterable[str]) -> Badge:
    messages = {MESSAGES[status] for status in statuses}
    label = NOT_XML.sub("", label)
    if len(label) > MAX_LABEL_LENGTH:
        label = label[: MAX_LABEL_LENGTH - 1] + "…"
    if not messages:
        return Badge(label=label, message="no monitors", color=GREY)
    message, color = min(messages, key=lambda pair: SEVERITY.index(pair[0]))
    return Badge(label=label, message=message, color=color)


@require_safe
def project_badge(request: HttpRequest, badge_key: str) -> HttpResponse:
    project = project_by_badge_key(badge_key)
    if project is None:
        raise Http404("Unknown badge key.")
    tag = request.GET.get("tag") or None
    statuses = monitors_in_scope(project=project, tag=tag).values_list("status", flat=True)
    return _svg(badge_for(tag or project.name, statuses))


@require_safe
def monitor_badge(request: HttpRequest, badge_key: str, slug: str) -> HttpResponse:
    project = project_by_badge_key(badge_key)
    monitor = project.monitors.filter(slug=slug).first() if project else None
    if monitor is None:
        raise Http404("Unknown badge.")
    return _svg(badge_for(monitor.name, [monitor.status]))


def _svg(badge: Badge) -> HttpResponse:
    response = HttpResponse(
        render_to_string("badges/badge.svg", {"badge": badge}), content_type="image/svg+xml"
    )
    # Short, so a README shows a change within a minute without every view reaching us.
    response["Cache-Control"] = "public, max-age=60"
    return response
