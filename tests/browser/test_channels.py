"""The channels page in real Chromium: add a webhook pointed at a loopback receiver, see its
secret once, press "Send test" and see the outcome in place; a phone shows it without
sideways scrolling."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Channel
from tests.alerts.loopback import HttpReceiver, Reply
from tests.api.builders import make_channel
from tests.browser.conftest import SignedIn
from tests.factories import MonitorFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_add_a_webhook_and_send_a_test_seeing_the_result_inline(
    page: Page,
    phone: Page,
    signed_in: SignedIn,
    loopback_receiver: HttpReceiver,
    settings: Any,
    screenshot: Callable[..., Path],
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_IPS = True
    project = signed_in.project
    MonitorFactory.create(project=project, name="Nightly backup")
    MonitorFactory.create(project=project, name="Invoice export")
    make_channel(project, kind="email", name="On-call team", config={"to": ["oncall@example.com"]})
    make_channel(
        project,
        kind="slack",
        name="#ops alerts",
        config={"url": "https://hooks.slack.com/services/T0123/B0456/abcdefSECRET"},
        reminder_hours=4,
    )

    page.goto("/")
    page.get_by_role("link", name="Channels").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Channels")
    expect(page.locator("table.channels")).to_contain_text("https://hooks.slack.com/…")
    expect(page.locator("table.channels")).not_to_contain_text("SECRET")

    page.get_by_role("link", name="Add Webhook channel").click()
    page.get_by_label("Name").fill("Deploy hook")
    page.get_by_label("Webhook URL").fill("ftp://nowhere")
    page.get_by_role("button", name="Add channel").click()
    expect(page.locator("#id_target_error")).to_contain_text("only http:// and https://")
    screenshot("channel-form")
    page.get_by_label("Webhook URL").fill(loopback_receiver.url)
    page.get_by_label("Invoice export").uncheck()
    page.get_by_role("button", name="Add channel").click()

    channel = Channel.objects.get(project=project, name="Deploy hook")
    assert [m.name for m in channel.monitors.all()] == ["Nightly backup"]
    secret = page.locator("#webhook-secret")
    expect(secret).to_have_text(channel.secret)

    page.evaluate("window.vigilTestMarker = 'still the same document'")
    loopback_receiver.script(Reply(status=200))
    row = page.locator(f"#channel-{channel.id}")
    row.get_by_role("button", name="Send test to Deploy hook").click()
    expect(row.locator(".test-outcome")).to_have_text("Delivered · HTTP 200")
    assert page.evaluate("window.vigilTestMarker") == "still the same document", "the page reloaded"
    assert loopback_receiver.requests[-1].json()["event"] == "test"

    loopback_receiver.script(Reply(status=500, body=b"receiver broke"))
    row.get_by_role("button", name="Send test to Deploy hook").click()
    expect(row.locator(".test-outcome")).to_contain_text("Not delivered · HTTP 500")
    screenshot("channels")

    page.reload()
    expect(page.locator("#webhook-secret")).to_have_count(0)

    phone.goto(f"/projects/{project.id}/channels/")
    expect(phone.locator("table.channels")).to_contain_text("Deploy hook")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot("channels-phone", on=phone)
