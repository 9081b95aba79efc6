"""Projects in a real browser: create one from the switcher, rename it, open a monitor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from monitors.models import Project
from tests.browser.conftest import SignedIn
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_a_project_from_the_switcher_then_rename_it(
    page: Page, signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    page.goto("/")
    page.locator(".switcher summary").click()
    page.get_by_role("link", name="All projects · New project").click()
    page.get_by_role("textbox", name="Name").fill("Payments")
    page.get_by_role("button", name="Create project").click()
    created = Project.objects.get(name="Payments")
    expect(page.get_by_role("heading", level=1)).to_have_text("Payments")
    expect(page.get_by_role("status")).to_contain_text("Project “Payments” created.")

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("textbox", name="Name").fill("   ")
    page.get_by_role("button", name="Rename project").click()
    expect(page.locator("#id_name_error")).to_have_text("A name is required.")
    screenshot("project-settings-error")
    page.get_by_role("textbox", name="Name").fill("Payments (EU)")
    page.get_by_role("button", name="Rename project").click()
    expect(page.get_by_role("status")).to_contain_text("Project renamed.")
    expect(page.locator(".switcher summary")).to_contain_text("Payments (EU)")
    created.refresh_from_db()
    assert created.name == "Payments (EU)"


def test_a_dashboard_row_opens_its_monitor_page(
    page: Page, signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    monitor = MonitorFactory.create(project=signed_in.project, name="Nightly backup", interval_seconds=300)
    page.goto("/")
    page.get_by_role("link", name="Nightly backup").click()
    expect(page).to_have_url(f"{page.url.split('/monitors/')[0]}/monitors/{monitor.id}/")
    expect(page.locator("#ping-url")).to_have_text(monitor.ping_url)
    expect(page.get_by_text("every 5 minutes")).to_be_visible()
    screenshot("monitor-page-minimal")

    # The copy button of includes/copy.html puts the snippet on the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy the ping URL").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == monitor.ping_url
