"""A monitor's page in a real browser: history, a log opened in place, the chart, figures and
incidents; pause and resume without a reload; paging through the history; a phone; JavaScript
off; and the link of a real alert, received by a webhook on loopback, landing on the page."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from alerts.sweeper import sweep
from monitors.models import Monitor, MonitorStatus
from pings.models import Run
from pings.selectors import HISTORY_PAGE
from tests.alerts.delivery.outbox_rows import deliver_due
from tests.alerts.loopback import HttpReceiver
from tests.api.builders import make_channel, make_run
from tests.browser.conftest import PHONE, SignedIn
from tests.factories import MonitorFactory
from tests.showcase import SHOWCASE_DAYS, showcase_monitor

pytestmark = pytest.mark.django_db(transaction=True)


def mark_document(page: Page) -> None:
    page.evaluate("window.vigilTestMarker = 'still the same document'")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.vigilTestMarker") == "still the same document", "the page reloaded"


def newest_run(monitor: Monitor) -> Run:
    run = monitor.runs.order_by("-id").first()
    assert run is not None
    return run


def test_history_log_in_place_chart_figures_and_incidents(
    page: Page, signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    monitor = showcase_monitor(signed_in.project)
    page.goto(f"/monitors/{monitor.id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nightly database backup")
    expect(page.locator("#monitor-live .status")).to_have_text("down")
    expect(page.get_by_role("link", name="Open the runbook")).to_have_attribute(
        "href", "https://wiki.example.com/runbooks/db-backup"
    )

    # The chart: one point per finished run, coloured by outcome, with median and p95 lines.
    plot = page.locator("svg.chart-plot")
    expect(plot.locator(".pt")).to_have_count(SHOWCASE_DAYS)
    expect(plot.locator("circle.pt-failed")).to_have_count(4)
    expect(plot.locator("use.pt-too_long.above")).to_have_count(1)
    expect(plot.locator("circle.pt-overlap")).to_have_count(1)
    expect(plot.locator("line.level-p50")).to_have_count(1)
    expect(plot.locator("line.level-p95")).to_have_count(1)
    expect(plot.locator("text.time").first).to_have_text(re.compile(r"^\d{1,2} \w{3}$"))

    # Figures, and the incident with every delivery attempt.
    expect(page.locator(".stat-grid")).to_contain_text("Failures, 24 h")
    incident = page.locator("article.incident.is-open")
    expect(incident.locator(".kinds")).to_have_text("failed")
    expect(incident.locator(".attempts li")).to_have_count(3)
    expect(incident).to_contain_text("HTTP 503")
    expect(incident).to_contain_text("SMTP: Connection refused (mail.example.com:587)")

    # The newest run's log opens in place, flagged as truncated.
    run = newest_run(monitor)
    row = page.locator(f"#run-{run.id}")
    expect(row.locator(".chip.warn")).to_have_text("truncated")
    mark_document(page)
    row.get_by_role("link", name=re.compile("^Log")).click()
    log = page.locator(f"#log-{run.id}")
    expect(log.locator("pre")).to_contain_text("pg_dump: error: query failed")
    expect(log.locator(".log-truncated")).to_be_visible()
    # A poll of the history keeps the opened log.
    with page.expect_request(lambda request: request.headers.get("hx-target") == "history"):
        pass
    page.wait_for_timeout(300)
    expect(log.locator("pre")).to_be_visible()
    assert_same_document(page)
    screenshot("monitor-page")

    log.get_by_role("button", name="Hide log").click()
    expect(log.locator("pre")).to_have_count(0)


def test_the_page_fits_a_phone(phone: Page, signed_in: SignedIn, screenshot: Callable[..., Path]) -> None:
    monitor = showcase_monitor(signed_in.project)
    phone.goto(f"/monitors/{monitor.id}/")
    expect(phone.locator("svg.chart-plot .pt")).to_have_count(SHOWCASE_DAYS)
    run = newest_run(monitor)
    phone.locator(f"#run-{run.id}").get_by_role("link", name=re.compile("^Log")).click()
    expect(phone.locator(f"#log-{run.id} pre")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot("monitor-page-phone", on=phone)


def test_with_javascript_off_a_log_opens_on_its_own_page(
    make_context: Callable[..., BrowserContext], signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    monitor = showcase_monitor(signed_in.project, channels=False)
    page = make_context(signed_in=signed_in, java_script_enabled=False).new_page()
    page.goto(f"/monitors/{monitor.id}/")
    run = newest_run(monitor)
    page.locator(f"#run-{run.id}").get_by_role("link", name=re.compile("^Log")).click()
    expect(page).to_have_url(re.compile(rf"/monitors/{monitor.id}/runs/{run.id}/$"))
    expect(page.locator("pre.log-text")).to_contain_text("backup failed after 1 attempt(s)")
    expect(page.locator(".log-truncated")).to_be_visible()
    screenshot("run-page", on=page)


def test_delete_after_confirming(page: Page, signed_in: SignedIn, screenshot: Callable[..., Path]) -> None:
    monitor = MonitorFactory.create(project=signed_in.project, name="Old export")
    make_run(monitor)
    page.goto(f"/monitors/{monitor.id}/")
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete this monitor?")
    expect(page.locator(".danger-zone")).to_contain_text("1 run and 0 incidents")
    screenshot("monitor-delete", on=page)
    assert Monitor.objects.filter(id=monitor.id).exists()
    page.get_by_role("button", name="Delete the monitor").click()
    expect(page.get_by_role("status")).to_contain_text("Monitor “Old export” deleted.")
    assert not Monitor.objects.filter(id=monitor.id).exists()


def test_pause_until_a_local_time_then_resume_without_a_reload(
    page: Page, signed_in: SignedIn, live: str
) -> None:
    monitor = MonitorFactory.create(project=signed_in.project, name="Reports", interval_seconds=3600)
    page.goto(f"/monitors/{monitor.id}/")
    mark_document(page)
    # The browser runs in Europe/Berlin: the time typed is Berlin time.
    until = (
        (timezone.now() + timedelta(days=2))
        .astimezone(ZoneInfo("Europe/Berlin"))
        .replace(second=0, microsecond=0)
    )
    page.get_by_text("Pause…").click()
    expect(page.locator("[data-viewer-zone-name]").first).to_have_text("Europe/Berlin")
    page.get_by_label("Until (optional)").fill(f"{until:%Y-%m-%dT%H:%M}")
    page.get_by_role("button", name="Pause monitor").click()
    expect(page.locator("#monitor-live .status")).to_have_text("paused")
    expect(page.locator("#monitor-controls .done")).to_have_text("Paused until the time set.")
    monitor.refresh_from_db()
    assert monitor.paused
    assert monitor.paused_until == until

    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#monitor-live .status")).to_have_text("new")
    expect(page.get_by_text("Pause…")).to_be_visible()
    monitor.refresh_from_db()
    assert not monitor.paused
    assert_same_document(page)


def test_a_time_in_the_past_is_refused_next_to_the_field(page: Page, signed_in: SignedIn) -> None:
    monitor = MonitorFactory.create(project=signed_in.project, name="Reports", interval_seconds=3600)
    page.goto(f"/monitors/{monitor.id}/")
    page.get_by_text("Pause…").click()
    page.get_by_label("Until (optional)").fill("2020-01-01T10:00")
    page.get_by_role("button", name="Pause monitor").click()
    expect(page.locator("#id_until_error")).to_have_text("Must be in the future.")
    monitor.refresh_from_db()
    assert not monitor.paused


def test_page_through_the_history(page: Page, signed_in: SignedIn, live: str) -> None:
    monitor = MonitorFactory.create(project=signed_in.project, name="Busy job", interval_seconds=60)
    runs = [
        make_run(monitor, status="failed" if i % 10 == 0 else "success") for i in range(HISTORY_PAGE * 2 + 5)
    ]
    page.goto(f"/monitors/{monitor.id}/")
    rows = page.locator("table.runs tr.run")
    expect(rows).to_have_count(HISTORY_PAGE)
    expect(rows.first).to_have_attribute("id", f"run-{runs[-1].id}")
    mark_document(page)

    page.get_by_role("link", name="Older runs →").click()
    expect(rows.first).to_have_attribute("id", f"run-{runs[-HISTORY_PAGE - 1].id}")
    expect(page).to_have_url(re.compile(rf"\?before={runs[-HISTORY_PAGE].id}$"))
    page.get_by_role("link", name="Older runs →").click()
    expect(rows).to_have_count(5)
    expect(page.get_by_role("link", name="Older runs →")).to_have_count(0)
    assert_same_document(page)

    page.get_by_role("link", name="← Newest runs").click()
    expect(rows.first).to_have_attribute("id", f"run-{runs[-1].id}")

    page.get_by_label("Status", exact=True).select_option("failed")
    expect(rows).to_have_count(6)
    expect(page).to_have_url(re.compile(r"\?status=failed$"))
    assert_same_document(page)


@pytest.fixture
def receiver(settings: Any) -> Iterator[HttpReceiver]:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = True
    with HttpReceiver() as running:
        yield running


def ping(url: str) -> None:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200


def test_the_link_in_a_received_alert_opens_the_monitor_page(
    page: Page, signed_in: SignedIn, receiver: HttpReceiver, live: str, screenshot: Callable[..., Path]
) -> None:
    make_channel(signed_in.project, name="Loopback hook", config={"url": receiver.url})
    monitor = MonitorFactory.create(project=signed_in.project, name="Invoice export", slug="invoice-export")
    monitor.channels.set(signed_in.project.channels.all())

    ping(f"{monitor.ping_url}/fail")
    sweep()
    while deliver_due():
        pass
    assert receiver.wait_for(1)
    payload = receiver.requests[0].json()
    assert payload["event"] == "problem"
    link = payload["monitor"]["url"]
    assert link.startswith(live)

    page.goto(link)
    expect(page).to_have_url(f"{live}/monitors/{monitor.id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice export")
    expect(page.locator("#monitor-live .status")).to_have_text(MonitorStatus.DOWN.value)
    expect(page.locator("article.incident.is-open .attempts")).to_contain_text("HTTP 200")


UNNAMED_CONTROLS = """
() => [...document.querySelectorAll("a[href], button, summary, input:not([type=hidden]), select, textarea")]
  .filter(el => el.offsetParent !== null)
  .filter(el => {
    const named = (el.getAttribute("aria-label") || el.textContent || "").trim()
      || (el.labels && [...el.labels].some(label => label.textContent.trim()));
    return !named;
  })
  .map(el => el.outerHTML.slice(0, 120))
"""


def test_every_control_is_named_and_reached_from_the_keyboard(page: Page, signed_in: SignedIn) -> None:
    monitor = showcase_monitor(signed_in.project)
    page.goto(f"/monitors/{monitor.id}/")
    assert page.evaluate(UNNAMED_CONTROLS) == []
    # Pause… opens from the keyboard and its field takes the focus next.
    pause = page.locator("#monitor-controls summary")
    pause.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Until (optional)")).to_be_focused()
    pause.focus()
    assert pause.evaluate("element => getComputedStyle(element).outlineStyle") != "none", "no visible focus"
    page.goto(f"/projects/{signed_in.project.id}/activity/")
    assert page.evaluate(UNNAMED_CONTROLS) == []


def test_flapping_and_ignored_pings_are_shown_on_the_page_and_flapping_on_the_dashboard(
    page: Page, signed_in: SignedIn, live: str, screenshot: Callable[..., Path]
) -> None:
    """A crash-looping job (flapping) whose link was opened by a preview bot (an ignored GET)."""
    monitor = MonitorFactory.create(
        project=signed_in.project, name="Queue consumer", methods="POST", interval_seconds=86400
    )

    def ping(suffix: str = "", method: str = "POST") -> None:
        request = urllib.request.Request(f"{live}/ping/{monitor.ping_uuid}{suffix}", method=method)
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 200

    for _ in range(3):
        ping("/fail")
        ping()
    ping(method="GET")
    page.goto(f"/monitors/{monitor.id}/")
    expect(page.locator("#monitor-live .chip.flapping")).to_have_text("flapping")
    expect(page.locator(".ignored-ping")).to_have_count(1)
    expect(page.locator(".ignored-ping")).to_contain_text("GET")
    expect(page.locator(".ignored-ping .chip")).to_have_text("ignored: GET to a POST-only monitor")
    screenshot("monitor-flapping-ignored-ping")
    # The dashboard says it too, beside the status, so nobody waits for alerts that are held.
    steady = MonitorFactory.create(project=signed_in.project, name="Nightly backup", interval_seconds=86400)
    urllib.request.urlopen(f"{live}/ping/{steady.ping_uuid}").close()
    page.goto(f"/projects/{signed_in.project.id}/")
    expect(page.locator(f"#monitor-{monitor.id} .chip.flapping")).to_have_text("flapping")
    expect(page.locator(f"#monitor-{steady.id} .chip.flapping")).to_have_count(0)
    screenshot("dashboard-flapping")
    page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    expect(page.locator(f"#monitor-{monitor.id} .chip.flapping")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot("dashboard-flapping-phone")
