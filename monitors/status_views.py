"""`/status/<status_key>/`: one URL an uptime checker can poll for a whole project (CONTRACT §5)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from monitors.models import MonitorStatus
from monitors.selectors import monitors_in_scope, project_by_status_key


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
    summary = status_summary([dict(row) for row in scope.values("slug", "name", "status")])
    return _answer(summary, 503 if summary["failing"] else 200)


def _answer(body: dict[str, Any], status: int) -> JsonResponse:
    response = JsonResponse(body, status=status)
    # Checkers must see the state of this instant, and may poll from a browser page.
    response["Cache-Control"] = "no-store"
    response["Access-Control-Allow-Origin"] = "*"
    return response
