"""The activity page in a real browser: runs across the project, filtered in place with the
filters kept in the URL, reached from the navigation, readable on a phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from pings.models import Run
from tests.browser.conftest import SignedIn
from tests.showcase import showcase_project

pytestmark = pytest.mark.django_db(transaction=True)


def test_runs_across_the_project_filtered_in_place(
    page: Page, signed_in: SignedIn, live: str, screenshot: Callable[..., Path]
) -> None:
    showcase_project(signed_in.project)
    runs = Run.objects.filter(monitor__project=signed_in.project)
    page.goto("/")
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Activity").click()
    expect(page).to_have_url(f"{live}/projects/{signed_in.project.id}/activity/")
    rows = page.locator("table.activity tbody tr")
    expect(rows).to_have_count(50)
    newest = runs.order_by("-id").first()
    assert newest is not None
    expect(rows.first).to_have_attribute("id", f"run-{newest.id}")
    screenshot("activity")

    page.evaluate("window.vigilTestMarker = 'same'")
    page.get_by_label("Status").select_option("failed")
    expect(rows).to_have_count(runs.filter(status="failed").count())
    expect(page).to_have_url(re.compile(r"\?status=failed&since=&monitor=&tag=$"))
    page.get_by_label("Since").fill("nonsense")
    expect(page.get_by_role("alert")).to_contain_text("Not a date-time")
    page.get_by_label("Since").fill("24h")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(rows).to_have_count(runs.filter(status="failed").count())
    assert page.evaluate("window.vigilTestMarker") == "same"


def test_the_activity_page_fits_a_phone(
    phone: Page, signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    showcase_project(signed_in.project)
    phone.goto(f"/projects/{signed_in.project.id}/activity/")
    expect(phone.locator("table.activity tbody tr")).to_have_count(50)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot("activity-phone", on=phone)
