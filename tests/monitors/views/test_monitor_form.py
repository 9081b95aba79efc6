"""The monitor form (create at /projects/<id>/monitors/new/, edit at /monitors/<id>/edit/) and its
schedule preview: who may use them, that they save through the API's rules, and that bad input
is shown beside its field with nothing changed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from monitors.models import Membership, Monitor, Project, ScheduleKind
from monitors.roles import Role
from tests.api.builders import make_channel
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


def create_url(project: Project) -> str:
    return reverse("monitor-create", args=[project.id])


def edit_url(monitor: Monitor) -> str:
    return reverse("monitor-edit", args=[monitor.id])


def preview_url(project: Project) -> str:
    return reverse("monitor-schedule-preview", args=[project.id])


def form_data(**overrides: Any) -> dict[str, Any]:
    """Everything the form posts, as a browser would send it for a new nightly backup job."""
    data: dict[str, Any] = {
        "name": "Nightly backup",
        "slug": "",
        "description": "Dumps the database to S3.",
        "tags": "backup, nightly",
        "runbook_url": "https://wiki.example.com/backup",
        "schedule_kind": "cron",
        "interval_value": "1",
        "interval_unit": "days",
        "cron_expression": "30 2 * * *",
        "timezone": "Europe/Berlin",
        "grace_value": "15",
        "grace_unit": "minutes",
        "max_duration_value": "2",
        "max_duration_unit": "hours",
        "failure_threshold": "2",
        "recovery_threshold": "1",
        "notify_every_failures": "0",
        "methods": "any",
        "keywords_success": "",
        "keywords_failure": "",
        "keywords_start": "",
        "rule-0-field": "",
        "rule-0-op": "lt",
        "rule-0-value": "",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def errors_of(html: str, field: str) -> list[str]:
    """The error list rendered beside a field (ids as includes/field.html makes them)."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found[1]) if found else []


def snapshot(monitor: Monitor) -> dict[str, Any]:
    monitor.refresh_from_db()
    return {
        **model_to_dict(monitor, exclude=["channels"]),
        "channels": sorted(channel.id for channel in monitor.channels.all()),
    }


# ---- who may use it


@pytest.mark.parametrize("which", ["create", "edit", "preview"])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, monitor: Monitor, which: str) -> None:
    url = {
        "create": create_url(monitor.project),
        "edit": edit_url(monitor),
        "preview": preview_url(monitor.project),
    }[which]
    for response in (
        client.get(url),
        client.post(url, form_data(name="Sneaky")) if which != "preview" else None,
    ):
        if response is None:
            continue
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"
    assert not Monitor.objects.filter(name="Sneaky").exists()


def test_another_projects_member_gets_404_and_changes_nothing(
    signed_in: Client, strangers_monitor: Monitor
) -> None:
    before = snapshot(strangers_monitor)
    project = strangers_monitor.project
    assert signed_in.get(create_url(project)).status_code == 404
    assert signed_in.post(create_url(project), form_data()).status_code == 404
    assert signed_in.get(edit_url(strangers_monitor)).status_code == 404
    assert signed_in.post(edit_url(strangers_monitor), form_data(name="Mine now")).status_code == 404
    assert signed_in.get(preview_url(project), {"schedule_kind": "interval"}).status_code == 404
    assert snapshot(strangers_monitor) == before
    assert project.monitors.count() == 1


def test_a_member_who_may_not_change_gets_403(signed_in: Client, monitor: Monitor) -> None:
    Membership.objects.filter(project=monitor.project).update(role=Role.VIEWER)
    before = snapshot(monitor)
    assert signed_in.get(create_url(monitor.project)).status_code == 403
    assert signed_in.post(create_url(monitor.project), form_data()).status_code == 403
    assert signed_in.post(edit_url(monitor), form_data(name="Changed")).status_code == 403
    assert snapshot(monitor) == before
    # And the pages do not offer what they would refuse.
    assert (
        edit_url(monitor) not in signed_in.get(reverse("monitor-detail", args=[monitor.id])).content.decode()
    )
    assert create_url(monitor.project) not in signed_in.get("/").content.decode()


def test_the_dashboard_and_the_monitor_page_link_to_the_form(signed_in: Client, monitor: Monitor) -> None:
    assert create_url(monitor.project) in signed_in.get("/").content.decode()
    assert edit_url(monitor) in signed_in.get(reverse("monitor-detail", args=[monitor.id])).content.decode()


# ---- create and edit round trips


def test_create_saves_every_field_through_the_api_rules(signed_in: Client, project: Project) -> None:
    slack = make_channel(project, name="Slack", kind="slack", config={"url": "https://hooks.slack.com/x"})
    make_channel(project, name="Pager")
    data = form_data(
        channels=[str(slack.id)],
        methods="POST",
        resume_on_ping="on",
        allow_overlap="on",
        notify_every_failures="3",
        keywords_success="ALL OK\n\n all ok \n",
        keywords_failure="ERROR\nTraceback",
        keywords_start="starting",
        **{
            "rule-0-field": "records_processed",
            "rule-0-op": "eq",
            "rule-0-value": "0",
            "rule-3-field": "env",
            "rule-3-op": "ne",
            "rule-3-value": '"42"',
            "rule-5-field": "",
            "rule-5-value": "",
        },
    )
    response = signed_in.post(create_url(project), data)
    monitor = Monitor.objects.get(project=project)
    assert response.status_code == 302
    assert response["Location"] == reverse("monitor-detail", args=[monitor.id])
    assert (monitor.name, monitor.slug) == ("Nightly backup", "nightly-backup")
    assert monitor.tags == ["backup", "nightly"]
    assert monitor.description == "Dumps the database to S3."
    assert monitor.runbook_url == "https://wiki.example.com/backup"
    assert (monitor.schedule_kind, monitor.cron_expression, monitor.timezone) == (
        ScheduleKind.CRON,
        "30 2 * * *",
        "Europe/Berlin",
    )
    assert (monitor.grace_seconds, monitor.max_duration_seconds) == (900, 7200)
    assert (monitor.failure_threshold, monitor.recovery_threshold, monitor.notify_every_failures) == (2, 1, 3)
    assert monitor.allow_overlap
    assert monitor.resume_on_ping
    assert monitor.methods == "POST"
    # The serializer's keyword rules: stripped, duplicates ignoring case dropped.
    assert monitor.keywords == {
        "success": ["ALL OK"],
        "failure": ["ERROR", "Traceback"],
        "start": ["starting"],
    }
    assert monitor.rules == [
        {"field": "records_processed", "op": "eq", "value": 0},
        {"field": "env", "op": "ne", "value": "42"},
    ]
    assert [channel.id for channel in monitor.channels.all()] == [slack.id]
    assert monitor.next_due_at is not None


def test_edit_shows_the_monitor_and_saves_changes(signed_in: Client, project: Project) -> None:
    hook = make_channel(project, name="hook")
    monitor = MonitorFactory.create(
        project=project,
        name="Reports",
        slug="reports",
        tags=["daily"],
        interval_seconds=7200,
        grace_seconds=300,
        rules=[
            {"field": "duration_ms", "op": "gt", "value": 60000},
            {"field": "ok", "op": "eq", "value": True},
        ],
        keywords={"success": [], "failure": ["FAIL"], "start": []},
    )
    page = signed_in.get(edit_url(monitor)).content.decode()
    assert 'value="Reports"' in page
    assert re.search(r'name="interval_value"[^>]*value="2"', page)
    assert re.search(r'<option value="hours" selected>', page)
    assert 'value="duration_ms"' in page
    assert 'value="60000"' in page
    assert 'value="true"' in page
    assert re.search(r">\s*FAIL</textarea>", page)

    data = form_data(
        name="Reports v2",
        slug="reports",
        tags="daily, finance",
        schedule_kind="interval",
        interval_value="30",
        interval_unit="minutes",
        max_duration_value="",
        channels=[str(hook.id)],
        keywords_failure="",
        **{
            "rule-0-field": "duration_ms",
            "rule-0-op": "gt",
            "rule-0-value": "90000",
            "rule-1-field": "",
            "rule-1-value": "",
        },
    )
    response = signed_in.post(edit_url(monitor), data)
    assert response.status_code == 302
    monitor.refresh_from_db()
    assert (monitor.name, monitor.slug, monitor.tags) == ("Reports v2", "reports", ["daily", "finance"])
    assert (monitor.schedule_kind, monitor.interval_seconds, monitor.cron_expression) == (
        "interval",
        1800,
        "",
    )
    assert monitor.max_duration_seconds is None
    assert monitor.rules == [{"field": "duration_ms", "op": "gt", "value": 90000}]
    assert monitor.keywords == {"success": [], "failure": [], "start": []}
    assert [channel.id for channel in monitor.channels.all()] == [hook.id]


def test_a_new_monitor_form_starts_with_every_channel_ticked(signed_in: Client, project: Project) -> None:
    first, second = make_channel(project, name="a"), make_channel(project, name="b")
    page = signed_in.get(create_url(project)).content.decode()
    for channel in (first, second):
        assert re.search(rf'<input type="checkbox" name="channels" value="{channel.id}"[^>]* checked', page)


# ---- bad input: the field's error, nothing changed


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"slug": "Not A Slug"}, "slug", "This value does not match the required pattern."),
        ({"cron_expression": "61 * * * *"}, "cron_expression", "Invalid cron expression"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
        (
            {"schedule_kind": "interval", "interval_value": "0"},
            "interval_value",
            "Interval must be at least 1",
        ),
        ({"grace_value": "soon"}, "grace_value", "A valid integer is required."),
        ({"failure_threshold": "0"}, "failure_threshold", "greater than or equal to 1"),
        ({"runbook_url": "ftp://example.com/x"}, "runbook_url", "An http or https URL."),
        ({"methods": "PUT"}, "methods", "is not a valid choice"),
        ({"keywords_failure": "x" * 201}, "keywords_failure", "at most 200 characters"),
        ({"channels": ["999999"]}, "channels", "Unknown channel ids"),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_nothing_is_saved(
    signed_in: Client, monitor: Monitor, overrides: dict[str, Any], field: str, message: str
) -> None:
    before = snapshot(monitor)
    edit = form_data(name="Changed", **{"slug": monitor.slug, **overrides})
    create = form_data(name="Changed", **{"slug": "", **overrides})
    for url, data in ((create_url(monitor.project), create), (edit_url(monitor), edit)):
        response = signed_in.post(url, data)
        assert response.status_code == 400
        html = response.content.decode()
        assert any(message in error for error in errors_of(html, field)), errors_of(html, field)
        assert "Nothing was saved" in html
    assert snapshot(monitor) == before
    assert Monitor.objects.count() == 1


def test_a_slug_in_use_is_refused_beside_the_slug(signed_in: Client, monitor: Monitor) -> None:
    response = signed_in.post(create_url(monitor.project), form_data(slug=monitor.slug))
    assert response.status_code == 400
    assert errors_of(response.content.decode(), "slug") == [
        f"A monitor with slug &#x27;{monitor.slug}&#x27; already exists."
    ]
    assert Monitor.objects.count() == 1


def test_a_bad_rule_is_shown_on_its_row_and_the_typed_rows_are_kept(
    signed_in: Client, monitor: Monitor
) -> None:
    before = snapshot(monitor)
    data = form_data(
        slug=monitor.slug,
        **{
            "rule-0-field": "records_processed",
            "rule-0-op": "gt",
            "rule-0-value": "10",
            "rule-1-field": "duration_ms",
            "rule-1-op": "lt",
            "rule-1-value": "fast",
        },
    )
    response = signed_in.post(edit_url(monitor), data)
    assert response.status_code == 400
    html = response.content.decode()
    rows = re.findall(
        r'<li class="rule-row( has-error)?">(.*?)</li>\s*(?=<li class="rule-row|</ol>)', html, re.S
    )
    assert [bool(flag) for flag, _ in rows] == [False, True, False]  # the two typed, and a spare
    assert "Duration_ms compares with a number" in rows[1][1]
    assert 'value="fast"' in rows[1][1]
    assert snapshot(monitor) == before


# ---- rule rows: add and remove


def test_adding_and_removing_rule_rows_saves_nothing(signed_in: Client, monitor: Monitor) -> None:
    before = snapshot(monitor)
    data = form_data(
        slug=monitor.slug,
        **{"rule-0-field": "a", "rule-0-value": "1", "rule-1-field": "b", "rule-1-value": "2"},
    )
    added = signed_in.post(edit_url(monitor), {**data, "add_rule": "1"})
    assert added.status_code == 200
    assert len(re.findall(r'name="rule-\d+-field"', added.content.decode())) == 4  # 2 typed + 2 empty
    assert "<html" in added.content.decode()  # without JavaScript: the whole form again

    removed = signed_in.post(edit_url(monitor), {**data, "remove_rule": "0"}, **HTMX, HTTP_HX_TARGET="rules")
    html = removed.content.decode()
    assert "<html" not in html
    assert html.strip().startswith('<fieldset class="panel rules" id="rules">')
    assert re.findall(r'name="rule-(\d+)-field"[^>]*value="([^"]*)"', html) == [("0", "b"), ("1", "")]
    assert snapshot(monitor) == before


# ---- the schedule preview


def preview(client: Client, project: Project, **params: str) -> str:
    response = client.get(preview_url(project), params, **HTMX)
    assert response.status_code == 200
    return response.content.decode()


@time_machine.travel(datetime(2026, 3, 26, 12, 0, tzinfo=UTC), tick=False)
def test_the_preview_warns_of_the_spring_gap(signed_in: Client, project: Project) -> None:
    html = preview(
        signed_in, project, schedule_kind="cron", cron_expression="30 2 * * *", timezone="Europe/Berlin"
    )
    assert "02:30 daily" in html
    assert "Europe/Berlin" in html
    times = re.findall(r'<time datetime="([^"]+)"', html)
    assert times == [
        "2026-03-27T01:30:00+00:00",
        "2026-03-28T01:30:00+00:00",
        "2026-03-29T01:00:00+00:00",  # 02:30 does not exist: due when the gap ends, 03:00 CEST
        "2026-03-30T00:30:00+00:00",
        "2026-03-31T00:30:00+00:00",
    ]
    warnings = re.findall(r'<p class="notice warning dst-warning">(.*?)</p>', html)
    assert warnings == [
        "02:30 does not exist on Sun 29 Mar 2026 in Europe/Berlin: the clocks skip it (DST starts). "
        "The job is due when the gap ends, at 03:00 CEST."
    ]


@time_machine.travel(datetime(2026, 10, 22, 12, 0, tzinfo=UTC), tick=False)
def test_the_preview_warns_of_the_autumn_fold(signed_in: Client, project: Project) -> None:
    html = preview(
        signed_in, project, schedule_kind="cron", cron_expression="30 2 * * *", timezone="Europe/Berlin"
    )
    warnings = re.findall(r'<p class="notice warning dst-warning">(.*?)</p>', html)
    assert warnings == [
        "02:30 happens twice on Sun 25 Oct 2026 in Europe/Berlin: the clocks go back (DST ends). "
        "The job is due once, at the first of the two."
    ]
    assert "Sun 25 Oct 2026, 02:30 CEST" in html


def test_the_preview_of_an_interval_counts_from_now_without_warnings(
    signed_in: Client, project: Project
) -> None:
    html = preview(signed_in, project, schedule_kind="interval", interval_value="90", interval_unit="minutes")
    assert "every 90 minutes" in html
    assert len(re.findall(r"<time ", html)) == 5
    assert "dst-warning" not in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"schedule_kind": "cron", "cron_expression": "every day", "timezone": "UTC"},
            "Invalid cron expression",
        ),
        (
            {"schedule_kind": "cron", "cron_expression": "0 3 * * *", "timezone": "Nowhere"},
            "Unknown time zone",
        ),
        (
            {"schedule_kind": "interval", "interval_value": "soon", "interval_unit": "minutes"},
            "must be an integer",
        ),
        ({"schedule_kind": "weekly"}, "Unknown schedule kind"),
        ({}, "Unknown schedule kind"),
    ],
)
def test_a_bad_schedule_shows_its_error_in_the_preview(
    signed_in: Client, project: Project, params: dict[str, str], message: str
) -> None:
    html = preview(signed_in, project, **params)
    assert message in html
    assert "<time" not in html


def test_the_form_page_shows_the_preview_of_its_schedule(signed_in: Client, project: Project) -> None:
    html = signed_in.get(create_url(project)).content.decode()
    assert 'id="schedule-preview"' in html
    assert len(re.findall(r"<time ", html)) >= 5
    assert 'hx-trigger="input changed delay:400ms"' in html
