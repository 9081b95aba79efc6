""" "Run now" on a monitor's page in real Chromium: the button asks the monitor's trigger for a
run, the request's life shows in place, and the manual run appears in the history, with who
asked, without a reload. Without a trigger the button is disabled and the page says why."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SignedIn, element_screenshot
from tests.browser.test_monitor_page import assert_same_document, mark_document
from tests.factories import MonitorFactory
from tests.showcase import showcase_monitor
from triggers.models import RunRequest, RunRequestStatus, TriggerKind
from triggers.services import TriggerSpec, run_request_claim, trigger_set

pytestmark = pytest.mark.django_db(transaction=True)


def ping(live: str, path: str) -> None:
    with urllib.request.urlopen(f"{live}{path}", timeout=10) as answer:
        assert answer.status == 200


def test_run_now_shows_the_request_and_the_manual_run_without_a_reload(
    page: Page, signed_in: SignedIn, live: str, screenshot: Callable[..., Path]
) -> None:
    monitor = showcase_monitor(signed_in.project)
    trigger_set(monitor=monitor, spec=TriggerSpec(kind=TriggerKind.AGENT))
    page.goto(f"/monitors/{monitor.id}/")
    mark_document(page)
    panel = page.locator("#run-now")
    expect(panel).to_contain_text("vigil agent")
    expect(panel).to_contain_text("No run requested yet.")

    panel.get_by_role("button", name="Run now").click()

    expect(panel).to_contain_text("Run requested")
    expect(panel.locator(".request-status").first).to_have_text("pending")
    expect(panel).to_contain_text(f"by {signed_in.email}")
    request = RunRequest.objects.get(monitor=monitor)
    assert (request.status, request.requested_by) == (RunRequestStatus.PENDING, signed_in.email)

    # The agent on the job host takes it and the job reports with the request's rid.
    claimed = run_request_claim(project=signed_in.project, slugs=[monitor.slug], wait_seconds=0)
    assert claimed is not None
    assert claimed.id == request.id
    expect(panel.locator(".request-status").first).to_have_text("sent")
    ping(live, f"/ping/{monitor.ping_uuid}/start?rid={request.rid}")
    expect(panel.locator(".request-status").first).to_have_text("started")
    ping(live, f"/ping/{monitor.ping_uuid}/0?rid={request.rid}")

    expect(panel.locator(".request-status").first).to_have_text("finished")
    run_row = page.locator("#history tr.run").first
    expect(run_row.locator(".kind")).to_have_text(f"manual by {signed_in.email}")
    expect(panel.get_by_role("link", name="the run")).to_be_visible()
    assert_same_document(page)
    screenshot("run-now")
    element_screenshot(panel, "run-now-panel")
    element_screenshot(run_row, "run-now-manual-run")


def test_without_a_trigger_the_button_is_disabled_and_says_why(page: Page, signed_in: SignedIn) -> None:
    monitor = MonitorFactory.create(project=signed_in.project, name="Weekly export")
    page.goto(f"/monitors/{monitor.id}/")

    button = page.locator("#run-now").get_by_role("button", name="Run now")
    expect(button).to_be_disabled()
    expect(page.locator("#run-now-reason")).to_contain_text("has no trigger yet")
    expect(button).to_have_attribute("aria-describedby", "run-now-reason")
    element_screenshot(page.locator("#run-now"), "run-now-no-trigger")
    assert not RunRequest.objects.exists()
