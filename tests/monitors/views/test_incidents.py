"""The project's incidents page (/projects/<id>/incidents/): open and recent incidents across
monitors with their deliveries summed up, and acknowledging one in place."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.models import Incident
from monitors.models import Membership, Monitor, Project
from monitors.roles import Role
from tests.api.builders import make_attempt, make_channel, make_incident, make_notification
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


def page_url(project: Project) -> str:
    return reverse("project-incidents", args=[project.id])


def ack_url(project: Project, incident: Incident) -> str:
    return reverse("incident-acknowledge", args=[project.id, incident.id])


def row_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr id="incident-(\d+)"', html)]


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(client: Client, monitor: Monitor) -> None:
    incident = make_incident(monitor)
    for response, url in (
        (client.get(page_url(monitor.project)), page_url(monitor.project)),
        (client.post(ack_url(monitor.project, incident)), ack_url(monitor.project, incident)),
    ):
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_another_projects_incidents_answer_404(
    signed_in: Client, project: Project, strangers_monitor: Monitor
) -> None:
    theirs = make_incident(strangers_monitor)
    assert signed_in.get(page_url(strangers_monitor.project)).status_code == 404
    assert signed_in.post(ack_url(strangers_monitor.project, theirs)).status_code == 404
    # Nor through one's own project's address.
    assert signed_in.post(ack_url(project, theirs)).status_code == 404
    assert theirs.id not in row_ids(signed_in.get(page_url(project)).content.decode())
    theirs.refresh_from_db()
    assert theirs.acknowledged_at is None


def test_a_member_who_may_not_change_cannot_acknowledge(signed_in: Client, monitor: Monitor) -> None:
    Membership.objects.filter(project=monitor.project).update(role=Role.VIEWER)
    incident = make_incident(monitor)
    assert signed_in.post(ack_url(monitor.project, incident)).status_code == 403
    page = signed_in.get(page_url(monitor.project)).content.decode()
    assert row_ids(page) == [incident.id]
    assert ack_url(monitor.project, incident) not in page
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_open_and_recent_incidents_across_monitors_with_their_deliveries(
    signed_in: Client, project: Project
) -> None:
    now = timezone.now()
    backup = MonitorFactory.create(project=project, name="Nightly backup")
    reports = MonitorFactory.create(project=project, name="Reports")
    hook = make_channel(project, name="hook")
    slack = make_channel(project, name="slack", kind="slack")
    open_one = make_incident(
        backup,
        opened_at=now - timedelta(hours=2),
        kind="failed",
        kinds=["failed", "too_long"],
        detail="exit 3",
    )
    failed = make_notification(open_one, hook, status="failed")
    make_attempt(failed, status_code=500, error="HTTP 500")
    make_notification(open_one, slack, status="delivered")
    resolved = make_incident(
        reports,
        opened_at=now - timedelta(days=2),
        resolved_at=now - timedelta(days=2) + timedelta(minutes=45),
    )
    make_notification(resolved, hook, status="delivered", event="problem")
    make_notification(resolved, hook, status="delivered", event="recovered")
    too_old = make_incident(
        reports, opened_at=now - timedelta(days=40), resolved_at=now - timedelta(days=39), kind="missed"
    )

    response = signed_in.get(page_url(project))
    assert response.status_code == 200
    html = response.content.decode()
    open_part, recent_part = html.split('id="recent-heading"')
    assert row_ids(open_part) == [open_one.id]
    assert row_ids(recent_part) == [resolved.id]
    assert too_old.id not in row_ids(html)
    open_row = re.search(rf'<tr id="incident-{open_one.id}".*?</tr>', html, re.S)
    assert open_row is not None
    row = open_row[0]
    assert "Nightly backup" in row
    assert '<span class="chip kind">failed</span><span class="chip kind">too_long</span>' in row
    assert "exit 3" in row
    assert "1 failed</span> · " in row
    assert "1 delivered</span>" in row
    assert "2 h" in row
    assert 'datetime="' in row
    assert "Acknowledge" in row
    resolved_row = re.search(rf'<tr id="incident-{resolved.id}".*?</tr>', html, re.S)
    assert resolved_row is not None
    assert "45 min" in resolved_row[0]
    assert "2 delivered" in resolved_row[0]
    assert "Acknowledge</button>" not in resolved_row[0]


def test_acknowledge_without_javascript_redirects_back_with_a_message(
    signed_in: Client, monitor: Monitor
) -> None:
    incident = make_incident(monitor)
    response = signed_in.post(ack_url(monitor.project, incident), follow=True)
    assert response.redirect_chain == [(page_url(monitor.project), 302)]
    assert "acknowledged: its reminders stop" in response.content.decode()
    incident.refresh_from_db()
    assert incident.acknowledged_at is not None


def test_acknowledge_through_htmx_answers_the_row_and_keeps_the_first_time(
    signed_in: Client, monitor: Monitor
) -> None:
    incident = make_incident(monitor)
    response = signed_in.post(ack_url(monitor.project, incident), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="incident-{incident.id}"')
    assert "Acknowledge</button>" not in html
    assert 'role="status"' in html
    incident.refresh_from_db()
    first = incident.acknowledged_at
    assert first is not None
    signed_in.post(ack_url(monitor.project, incident), **HTMX)
    incident.refresh_from_db()
    assert incident.acknowledged_at == first


def test_an_unknown_incident_is_404(signed_in: Client, project: Project) -> None:
    assert signed_in.post(reverse("incident-acknowledge", args=[project.id, 999_999])).status_code == 404
    assert (
        signed_in.post(f"/projects/{project.id}/incidents/99999999999999999999/acknowledge/").status_code
        == 404
    )


def test_only_post_acknowledges(signed_in: Client, monitor: Monitor) -> None:
    incident = make_incident(monitor)
    assert signed_in.get(ack_url(monitor.project, incident)).status_code == 405
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def _incidents(project: Project, count: int) -> None:
    now = timezone.now()
    hook = make_channel(project, name=f"hook-{count}")
    for index in range(count):
        monitor = MonitorFactory.create(project=project)
        resolved = None if index % 2 else now - timedelta(hours=index)
        incident = make_incident(monitor, opened_at=now - timedelta(hours=index + 1), resolved_at=resolved)
        notification = make_notification(incident, hook, status="delivered")
        make_attempt(notification, status_code=200)


def _queries(client: Client, project: Project) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page_url(project))
    assert response.status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_the_incidents(signed_in: Client, project: Project) -> None:
    signed_in.get(page_url(project))  # the first visit also stores the current project in the session
    _incidents(project, 2)
    few = _queries(signed_in, project)
    _incidents(project, 30)
    assert _queries(signed_in, project) == few
