"""Project settings in real Chromium: status and badge URLs with a badge preview, an API key
shown once, then listed by its beginning and revoked; a maintenance window; a phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from rest_framework.test import APIClient

from alerts.models import MaintenanceWindow
from monitors.models import ApiKey, Monitor
from tests.browser.conftest import SignedIn
from tests.factories import MonitorFactory
from tests.monitors.fake_healthchecks import PING_KEY, RW_KEY, FakeHealthchecks

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_an_api_key_and_see_it_once(
    page: Page, phone: Page, signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    project = signed_in.project
    MonitorFactory.create(project=project, name="Nightly backup", slug="nightly-backup")
    page.goto("/")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Project settings")
    expect(page.locator("#status-url")).to_contain_text(f"/status/{project.status_key}/")
    badge = page.get_by_role("img", name=f"Badge of {project.name}: its current status")
    expect(badge).to_be_visible()
    assert badge.evaluate("img => img.complete && img.naturalWidth > 0"), "the badge SVG loads"

    page.get_by_text("Add a maintenance window…").click()
    page.get_by_label("Repeating, on a cron schedule").check()
    page.locator("#window_name").fill("Sunday backups")
    page.get_by_label("Cron expression").fill("0 3 * * 0")
    page.get_by_label("Lasting (minutes)").fill("90")
    page.get_by_role("button", name="Add window").click()
    expect(page.locator(".windows")).to_contain_text("Sunday backups")
    assert MaintenanceWindow.objects.filter(project=project, duration_seconds=5400).exists()

    page.get_by_role("textbox", name="Key label").fill("deploy script")
    page.get_by_label("Read-only").check()
    page.get_by_role("button", name="Create API key").click()
    api_key = ApiKey.objects.get(project=project)
    shown = page.locator("#new-api-key")
    expect(shown).to_contain_text(f"{api_key.prefix}_")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {shown.inner_text()}")
    assert client.get("/api/v1/monitors/").status_code == 200, "the whole key, as shown, works"
    expect(page.locator(".api-keys")).to_contain_text(f"{api_key.prefix}…")
    expect(page.locator(".api-keys")).to_contain_text("read-only")
    expect(page.locator(".api-keys")).to_contain_text("never")
    screenshot("project-settings")

    page.reload()
    expect(page.locator("#new-api-key")).to_have_count(0)
    page.locator(f"#api-key-{api_key.id} summary").click()
    page.get_by_role("button", name="Revoke “deploy script”").click()
    expect(page.get_by_role("status").first).to_contain_text("revoked")
    assert not ApiKey.objects.exists()

    phone.goto(f"/projects/{project.id}/settings/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Project settings")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot("project-settings-phone", on=phone)


def test_import_from_healthchecks_with_a_preview(
    page: Page, signed_in: SignedIn, settings: Any, screenshot: Callable[..., Path]
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = True
    project = signed_in.project
    with FakeHealthchecks() as fake:
        page.goto(f"/projects/{project.id}/settings/")
        page.get_by_role("link", name="Import from Healthchecks").click()
        page.get_by_label("Healthchecks address").fill(fake.url)
        page.get_by_label("Healthchecks API key").fill(RW_KEY)
        page.get_by_label("Ping key (optional)").fill(PING_KEY)
        page.get_by_role("button", name="Preview the import").click()
        expect(page.get_by_role("heading", name="Preview: nothing is written yet")).to_be_visible()
        expect(page.locator("table.import-rows")).to_contain_text("Nightly backup")
        screenshot("healthchecks-import")
        assert not Monitor.objects.filter(project=project).exists()

        page.get_by_label("Healthchecks API key, again").fill(RW_KEY)
        page.get_by_role("button", name="Import 7 monitors").click()
    expect(page.get_by_role("status").first).to_contain_text("7 created")
    assert Monitor.objects.filter(project=project).count() == 7
