"""Projects: the list of one's projects and creating one (settings: `project_settings`)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from monitors.access import signed_in, signed_in_user
from monitors.forms import ProjectForm
from monitors.projects import project_create
from monitors.selectors import projects_of_user


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
def project_list(request: HttpRequest) -> HttpResponse:
    """Every project of the user, and a form to create another (which it then opens)."""
    form = ProjectForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        project = project_create(name=form.cleaned_data["name"], owner=signed_in_user(request))
        messages.success(request, f"Project “{project.name}” created.")
        return redirect("project-dashboard", project_id=project.id)
    projects = projects_of_user(user=signed_in_user(request))
    return render(request, "monitors/project_list.html", {"form": form, "projects": projects})
