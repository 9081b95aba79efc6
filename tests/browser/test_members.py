"""Members, the audit log and the account page in a real browser, with screenshots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from monitors.models import Membership
from monitors.roles import Role
from tests.browser.conftest import SignedIn
from tests.factories import MonitorFactory, member

pytestmark = pytest.mark.django_db(transaction=True)


def test_invite_change_a_role_then_read_the_audit_log(
    page: Page, phone: Page, signed_in: SignedIn, screenshot: Callable[..., Path]
) -> None:
    project = signed_in.project
    MonitorFactory.create(project=project, name="Nightly backup")
    colleague = member(project, role=Role.VIEWER, email="grace.hopper.with.a.long.address@example.com")
    page.goto("/")
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Members")

    page.get_by_role("textbox", name="Email").fill("linus@example.com")
    page.get_by_label("Role", exact=True).select_option("admin")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to linus@example.com")
    assert mail.outbox[-1].to == ["linus@example.com"]
    expect(page.get_by_role("region", name="Pending invitations")).to_contain_text(
        "linus@example.com as admin"
    )

    page.get_by_label(f"Role of {colleague.email}").select_option("member")
    page.locator(f"form[action$='/members/{colleague.id}/role/']").get_by_role(
        "button", name="Change"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("is now member")
    assert Membership.objects.get(project=project, user=colleague).role == Role.MEMBER
    screenshot("members")

    page.get_by_role("link", name="Audit log").click()
    rows = page.locator("table.audit tbody tr")
    expect(rows.first).to_contain_text("member.role")
    expect(rows.first).to_contain_text("viewer")
    page.get_by_label("What").select_option("member")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{page.url.split('?')[0]}?who=&action=member&since=&until=")
    expect(rows).to_have_count(2)
    screenshot("audit")

    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    screenshot("account")

    phone.goto(f"/projects/{project.id}/members/")
    screenshot("members-phone", on=phone)
