"""A project's audit log: who changed what, when, from where; filtered by the URL's query."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from monitors.access import project_access, signed_in
from monitors.audit_log import FilterError, audit_actors, audit_entries, audit_kinds, parse_filters
from monitors.permissions import Permission

PAGE_SIZE = 50


@signed_in
@require_safe
def project_audit(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request, project_id)
    access.require(Permission.VIEW_AUDIT)
    error = None
    try:
        filters = parse_filters(request.GET)
    except FilterError as problem:
        error = f"{problem.field}: {problem.message}"
        filters = None
    entries = (
        audit_entries(project=access.project, filters=filters)
        if error is None
        else audit_entries(project=access.project).none()
    )
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "error": error,
        "query": query.urlencode(),
        "values": {name: request.GET.get(name, "") for name in ("who", "action", "since", "until")},
        "actors": audit_actors(project=access.project),
        "kinds": audit_kinds(project=access.project),
        "filtered": any(request.GET.get(name) for name in ("who", "action", "since", "until")),
    }
    return render(request, "monitors/audit.html", context, status=400 if error else 200)
