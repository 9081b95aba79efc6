"""The monitor form in a real browser: create a monitor while the schedule preview updates as
one types (no reload), add and remove alert rule rows in place, edit it; JavaScript off; a
phone; and the incidents page with acknowledge in place."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from alerts.models import Incident
from monitors.models import Monitor
from tests.api.builders import make_attempt, make_channel, make_incident, make_notification
from tests.browser.conftest import SignedIn
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db(transaction=True)


def mark_document(page: Page) -> None:
    page.evaluate("window.vigilTestMarker = 'still the same document'")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.vigilTestMarker") == "still the same document", "the page reloaded"


def test_create_a_monitor_while_the_preview_follows_the_schedule(
    page: Page, signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    hook = make_channel(signed_in.project, name="Ops webhook")
    page.goto("/")
    page.get_by_role("link", name="New monitor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New monitor")
    preview = page.locator("#schedule-preview")
    expect(preview.locator(".schedule-words")).to_have_text("every day")
    mark_document(page)

    page.get_by_label("Name", exact=True).fill("Nightly backup")
    page.get_by_label("Tags").fill("backup, nightly")
    page.get_by_label("Every", exact=True).fill("15")
    page.get_by_label("Every: unit").select_option("minutes")
    expect(preview.locator(".schedule-words")).to_have_text("every 15 minutes")

    # Cron: only its fields show; a bad expression is the API's error in the preview.
    page.get_by_role("radio", name="On a cron schedule").check()
    expect(page.get_by_label("Every", exact=True)).to_be_hidden()
    cron = page.get_by_role("textbox", name="Cron expression")
    cron.fill("30 2 * *")
    expect(preview.locator(".preview-error")).to_contain_text("Invalid cron expression")
    cron.fill("30 2 * * *")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    expect(preview.locator(".schedule-words")).to_have_text("02:30 daily, Europe/Berlin")
    expect(preview.locator(".due-times li")).to_have_count(5)
    expect(preview.locator(".due-times li").first).to_contain_text(re.compile(r"02:30 CES?T"))
    expect(preview.locator(".dst-warning")).to_have_count(0)
    # Sundays of March and October: whatever today is, the next five hold the last Sunday of
    # one of them, when 02:30 is skipped (March) or happens twice (October).
    cron.fill("30 2 * 3,10 0")
    moved = re.compile(r"02:30 (does not exist|happens twice)")
    expect(preview.locator(".dst-warning")).to_contain_text(moved)
    expect(preview.locator(".due-times li.dst .chip")).to_have_text("DST")
    assert_same_document(page)

    # Alert rules: add a row in place, fill two, remove the first.
    rules = page.locator("#rules")
    screenshot("monitor-form")  # the preview with its DST warning
    expect(rules.locator(".rule-row")).to_have_count(1)
    page.get_by_role("button", name="Add a rule").click()
    expect(rules.locator(".rule-row")).to_have_count(2)
    page.locator("#id_rule-0-field").fill("env")
    page.locator("#id_rule-0-value").fill("staging")
    page.locator("#id_rule-1-field").fill("records_processed")
    page.locator("#id_rule-1-op").select_option("eq")
    page.locator("#id_rule-1-value").fill("0")
    page.get_by_role("button", name="Add a rule").click()
    expect(rules.locator(".rule-row")).to_have_count(4)  # two typed, a spare and the added one
    page.get_by_role("button", name="Remove rule 1").click()
    expect(rules.locator(".rule-row")).to_have_count(2)
    expect(page.locator("#id_rule-0-field")).to_have_value("records_processed")
    assert_same_document(page)

    cron.fill("30 2 * * *")
    expect(preview.locator(".schedule-words")).to_have_text("02:30 daily, Europe/Berlin")
    page.get_by_label("Failure keywords").fill("ERROR\nTraceback")
    expect(page.get_by_label("Ops webhook (webhook)")).to_be_checked()

    page.get_by_role("button", name="Create monitor", exact=True).last.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nightly backup")
    expect(page.locator(".messages")).to_contain_text("Monitor “Nightly backup” created.")
    monitor = Monitor.objects.get(project=signed_in.project)
    assert (monitor.slug, monitor.tags) == ("nightly-backup", ["backup", "nightly"])
    assert (monitor.cron_expression, monitor.timezone) == ("30 2 * * *", "Europe/Berlin")
    assert monitor.rules == [{"field": "records_processed", "op": "eq", "value": 0}]
    assert monitor.keywords["failure"] == ["ERROR", "Traceback"]
    assert [channel.id for channel in monitor.channels.all()] == [hook.id]

    # Edit: a bad value comes back beside its field, the rest as typed; then a good one saves.
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Alert after").fill("0")
    page.get_by_role("button", name="Save changes").last.click()
    expect(page.locator(".field.has-error")).to_contain_text("greater than or equal to 1")
    expect(page.locator("#id_rule-0-field")).to_have_value("records_processed")
    page.get_by_label("Alert after").fill("3")
    page.get_by_role("button", name="Save changes").last.click()
    expect(page.locator(".messages")).to_contain_text("saved")
    monitor.refresh_from_db()
    assert monitor.failure_threshold == 3


def test_without_javascript_rows_and_preview_still_work(
    make_context: Callable[..., BrowserContext], signed_in: SignedIn
) -> None:
    page = make_context(signed_in=signed_in, java_script_enabled=False).new_page()
    monitor = MonitorFactory.create(project=signed_in.project, name="Reports", slug="reports")
    page.goto(f"/monitors/{monitor.id}/edit/")
    page.locator("#id_rule-0-field").fill("duration_ms")
    page.locator("#id_rule-0-op").select_option("gt")
    page.locator("#id_rule-0-value").fill("60000")
    page.get_by_role("button", name="Add a rule").click()
    expect(page.locator(".rule-row")).to_have_count(3)
    expect(page.locator("#id_rule-0-value")).to_have_value("60000")
    page.get_by_role("radio", name="On a cron schedule").check()
    page.get_by_role("textbox", name="Cron expression").fill("0 3 * * 1-5")
    page.get_by_role("button", name="Update the preview").click()
    expect(page.locator("#schedule-preview .schedule-words")).to_have_text("03:00 on weekdays, UTC")
    page.get_by_role("button", name="Save changes").last.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    monitor.refresh_from_db()
    assert monitor.rules == [{"field": "duration_ms", "op": "gt", "value": 60000}]
    assert monitor.cron_expression == "0 3 * * 1-5"


def test_the_form_fits_a_phone(phone: Page, signed_in: SignedIn, screenshot: Callable[..., Path]) -> None:
    phone.goto(f"/projects/{signed_in.project.id}/monitors/new/")
    expect(phone.locator("#schedule-preview .due-times li")).to_have_count(5)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot("monitor-form-phone", on=phone)


def _incidents(signed_in: SignedIn) -> tuple[Incident, Incident]:
    now = timezone.now()
    hook = make_channel(signed_in.project, name="Ops webhook")
    backup = MonitorFactory.create(project=signed_in.project, name="Nightly database backup")
    reports = MonitorFactory.create(project=signed_in.project, name="Weekly reports")
    open_one = make_incident(
        backup, opened_at=now - timedelta(hours=3), kind="failed", kinds=["failed"], detail="exit status 2"
    )
    failed = make_notification(open_one, hook, status="failed")
    make_attempt(failed, status_code=503, error="HTTP 503")
    make_notification(open_one, hook, status="delivered", event="reminder")
    resolved = make_incident(
        reports,
        opened_at=now - timedelta(days=1, hours=2),
        resolved_at=now - timedelta(days=1),
        kind="missed",
    )
    make_notification(resolved, hook, status="delivered")
    make_notification(resolved, hook, status="delivered", event="recovered")
    return open_one, resolved


def test_incidents_page_and_acknowledge_in_place(
    page: Page, phone: Page, signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    open_one, resolved = _incidents(signed_in)
    page.goto("/")
    page.get_by_role("navigation").get_by_role("link", name="Incidents").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Incidents")
    row = page.locator(f"#incident-{open_one.id}")
    expect(row).to_contain_text("Nightly database backup")
    expect(row).to_contain_text("1 failed")
    expect(page.locator(f"#incident-{resolved.id}")).to_contain_text("2 delivered")
    screenshot("incidents")
    mark_document(page)
    row.get_by_role("button", name="Acknowledge the incident of Nightly database backup").click()
    expect(row.get_by_role("status")).to_have_text(re.compile(r"just now|ago"))
    assert_same_document(page)
    open_one.refresh_from_db()
    assert open_one.acknowledged_at is not None

    phone.goto(f"/projects/{signed_in.project.id}/incidents/")
    expect(phone.locator(f"#incident-{open_one.id}")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
