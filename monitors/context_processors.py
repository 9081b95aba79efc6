"""What every page's header needs: the resolved project access and the current section."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from monitors.access import REQUEST_ATTRIBUTE

# URL names (or their beginnings) per navigation section; anything else is the dashboard.
_SECTIONS = (
    ("activity", ("project-activity",)),
    ("incidents", ("project-incidents", "incident")),
    ("channels", ("project-channels", "channel")),
    ("settings", ("project-settings", "apikey", "maintenance")),
    ("members", ("project-members", "project-invitation")),
    ("audit", ("project-audit",)),
)


def _section(url_name: str) -> str:
    for section, prefixes in _SECTIONS:
        if url_name.startswith(prefixes):
            return section
    return "dashboard"


def project_access(request: HttpRequest) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    return {
        "access": getattr(request, REQUEST_ATTRIBUTE, None),
        "nav_section": _section(match.url_name or "") if match else "",
    }
