"""`/status/<status_key>/`: one URL an uptime checker can poll for a whole project (CONTRACT §5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from monitors.models import MonitorStatus
from monitors.selectors import monitors_in_scope, project_by_status_key

# Each entry also says when the job last pinged, when it is next due and how long it last ran.
TIMING_FIELDS = ("last_ping_at", "next_due_at", "last_duration_ms")


def status_summary(monitors: list[dict[str, Any]]) -> dict[str, Any]:
    """Only `down` fails: late is still within grace, and new and paused monitors owe nothing yet."""
    failing = [monitor["slug"] for monitor in monitors if monitor["status"] == MonitorStatus.DOWN]
    return {"status": "down" if failing else "up", "monitors": monitors, "failing": failing}


@require_safe
def project_status(request: HttpRequest, status_key: str) -> JsonResponse:
    project = project_by_status_key(status_key)
    if project is None:
        return _answer({"detail": "Unknown status key."}, 404)
    scope = monitors_in_scope(project=project, tag=request.GET.get("tag") or None)
    rows = scope.values("slug", "name", "status", *TIMING_FIELDS)
    summary = status_summary([_entry(row) for row in rows])
    return _answer(summary, 503 if summary["failing"] else 200)


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    """Times in the API's form: ISO 8601 in UTC with a Z, or null."""
    return {
        **row,
        "last_ping_at": _iso(row["last_ping_at"]),
        "next_due_at": _iso(row["next_due_at"]),
    }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _answer(body: dict[str, Any], status: int) -> JsonResponse:
    response = JsonResponse(body, status=status)
    # Checkers must see the state of this instant, and may poll from a browser page.
    response["Cache-Control"] = "no-store"
    response["Access-Control-Allow-Origin"] = "*"
    return response
