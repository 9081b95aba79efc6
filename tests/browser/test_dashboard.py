"""The dashboard in a real browser: it lists monitors, follows pings live without a reload,
keeps its filters in the URL while it polls, fits a phone, and hides other people's projects."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from monitors.models import Membership, Monitor, MonitorStatus
from tests.browser.conftest import SignedIn
from tests.factories import MonitorFactory, ProjectFactory
from tests.showcase import SHOWCASE, showcase_project

pytestmark = pytest.mark.django_db(transaction=True)


def ping(url: str) -> None:
    """A job's ping, over real HTTP as curl would send it."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200, response.read()


def polls(page: Page) -> list[str]:
    """Record the URLs of the dashboard's htmx requests from now on."""
    seen: list[str] = []
    page.on(
        "request", lambda request: seen.append(request.url) if request.headers.get("hx-request") else None
    )
    return seen


def mark_document(page: Page) -> None:
    page.evaluate("window.vigilTestMarker = 'still the same document'")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.vigilTestMarker") == "still the same document", "the page reloaded"


def test_dashboard_lists_every_monitor_with_status_words(
    page: Page, signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    showcase_project(signed_in.project)
    page.goto("/")
    rows = page.locator("table.monitors tbody tr")
    expect(rows).to_have_count(len(SHOWCASE))
    for name, slug, status, *_ in SHOWCASE:
        row = page.locator("tr", has=page.get_by_role("link", name=name, exact=True))
        expect(row.locator(".status")).to_have_text(status)
        expect(row.locator(".slug")).to_have_text(slug)
    down = page.locator("tr[data-status=down]")
    expect(down.locator(".ticks")).to_have_attribute(
        "aria-label", "Last 30 runs: 20 success, 8 failed, 1 overlap, 1 too long"
    )
    expect(page.locator(".summary .s-down .count")).to_have_text("1")
    expect(page.get_by_text("03:00 daily, Europe/Berlin")).to_be_visible()
    expect(page.get_by_text("every 5 minutes")).to_be_visible()
    screenshot("dashboard")


def test_pings_change_the_row_and_its_ticks_without_a_reload(
    page: Page, signed_in: SignedIn, live: str
) -> None:
    monitor = MonitorFactory.create(project=signed_in.project, name="Nightly backup", slug="nightly-backup")
    page.goto("/")
    row = page.locator(f"#monitor-{monitor.id}")
    expect(row.locator(".status")).to_have_text("new")
    expect(row.locator(".ticks")).to_have_text("no runs yet")
    mark_document(page)

    ping(f"{monitor.ping_url}/start")
    expect(row.locator(".status")).to_have_text("running")
    expect(row.locator(".tick")).to_have_count(1)
    expect(row.locator(".tick-running")).to_have_count(1)

    ping(monitor.ping_url)
    expect(row.locator(".status")).to_have_text("up")
    expect(row.locator(".tick-success")).to_have_count(1)
    expect(row.locator(".tick-running")).to_have_count(0)

    ping(f"{monitor.ping_url}/fail")
    expect(row.locator(".tick")).to_have_count(2)
    expect(row.locator(".tick").last).to_have_class("tick tick-failed")
    expect(row.locator("td.when").first).not_to_have_text("never")
    assert_same_document(page)


def test_the_first_ping_from_the_empty_dashboard_creates_its_monitor(
    page: Page, signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="No monitors yet: send the first ping")).to_be_visible()
    screenshot("dashboard-empty")
    curl_line = page.locator("#first-ping-curl").inner_text()
    url = curl_line.split('"')[1]
    mark_document(page)

    ping(url)
    expect(page.get_by_role("link", name="my-first-job")).to_be_visible()
    expect(page.locator("table.monitors .status")).to_have_text("up")
    assert_same_document(page)
    assert Monitor.objects.get(project=signed_in.project).slug == "my-first-job"


def test_filters_stay_in_the_url_and_survive_polling(page: Page, signed_in: SignedIn, live: str) -> None:
    showcase_project(signed_in.project)
    page.goto("/?tag=prod")
    expect(page.locator("table.monitors tbody tr")).to_have_count(3)
    requests = polls(page)
    mark_document(page)

    # Typing narrows the list in place and writes the filters into the address bar.
    page.get_by_label("Search").fill("stock")
    expect(page.locator("table.monitors tbody tr")).to_have_count(1)
    expect(page).to_have_url(f"{live}/?tag=prod&q=stock")
    page.get_by_label("Status", exact=True).select_option("down")
    expect(page).to_have_url(f"{live}/?status=down&tag=prod&q=stock")

    # Later polls ask for the same filters, and the list stays filtered.
    polled = len(requests)
    page.wait_for_timeout(2500)
    assert len(requests) >= polled + 2, requests
    assert all(url == f"{live}/?status=down&tag=prod&q=stock" for url in requests[polled:]), requests
    expect(page.locator("table.monitors tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="Sync warehouse stock")).to_be_visible()
    expect(page.get_by_label("Search")).to_have_value("stock")
    assert_same_document(page)

    # The URL alone brings the same view back.
    page.goto(f"{live}/?status=down&tag=prod&q=stock")
    expect(page.locator("table.monitors tbody tr")).to_have_count(1)
    expect(page.get_by_label("Status", exact=True)).to_have_value("down")


def test_polling_pauses_while_the_tab_is_hidden(page: Page, signed_in: SignedIn) -> None:
    page.goto("/")
    requests = polls(page)
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.wait_for_timeout(2500)
    assert requests == []
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.wait_for_timeout(1500)
    assert requests, "polling did not resume when the tab came back"


def test_dashboard_fits_a_phone_without_horizontal_scrolling(
    phone: Page, signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    showcase_project(signed_in.project)
    phone.goto("/")
    expect(phone.locator("table.monitors tbody tr")).to_have_count(len(SHOWCASE))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.locator(".switcher summary").click()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.locator(".switcher summary").click()
    screenshot("dashboard-phone", on=phone)


def test_another_users_project_is_not_found(
    page: Page, signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    stranger = ProjectFactory.create(name="Someone else's")
    secret = MonitorFactory.create(project=stranger, name="Their job", status=MonitorStatus.DOWN)
    for path in (
        f"/projects/{stranger.id}/",
        f"/monitors/{secret.id}/",
        f"/projects/{stranger.id}/settings/",
    ):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Nothing here")
        expect(page.locator("body")).not_to_contain_text("Someone else's")
    screenshot("not-found")


def test_with_javascript_off_the_dashboard_reads_and_filters(
    make_context: Callable[..., BrowserContext], signed_in: SignedIn, live: str
) -> None:
    showcase_project(signed_in.project)
    page = make_context(signed_in=signed_in, java_script_enabled=False).new_page()
    page.goto("/")
    expect(page.locator("table.monitors tbody tr")).to_have_count(len(SHOWCASE))
    # Times keep their UTC text; the copy of exact times is in the title.
    expect(page.locator(".live-note time")).to_contain_text("UTC")
    page.get_by_label("Search").fill("backup")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{live}/?q=backup&status=&tag=")
    expect(page.locator("table.monitors tbody tr")).to_have_count(1)


def test_the_header_works_from_the_keyboard(page: Page, signed_in: SignedIn) -> None:
    second = ProjectFactory.create(name="Second team")
    Membership.objects.create(project=second, user=signed_in.user)
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    switcher = page.locator(".switcher summary")
    expect(switcher).to_be_focused()
    outline = switcher.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline != "none", "no visible focus"
    page.keyboard.press("Enter")
    for _ in range(3):  # the menu lists the projects by name
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Second team":
            break
    expect(page.get_by_role("link", name="Second team")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Second team")
    expect(page).to_have_url(re.compile(rf"/projects/{second.id}/$"))
