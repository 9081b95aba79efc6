"""Accounts in a real browser: sign up, sign out, sign in, reset a password by its e-mail link."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import Page, Route, expect

from monitors.models import Membership
from tests.browser.conftest import SignedIn

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_up_then_sign_out_and_sign_in_again(
    page: Page, live: str, screenshot: Callable[..., Path]
) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    # A fresh install (no users) says how to make the first account.
    expect(page.locator("#first-account")).to_contain_text("createsuperuser")
    screenshot("sign-in")

    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password", exact=True).fill("a long passphrase")
    page.get_by_label("Password again").fill("a long passphrase")
    page.get_by_role("button", name="Sign up").click()

    membership = Membership.objects.select_related("project").get(user__email="grace@example.com")
    expect(page).to_have_url(f"{live}/projects/{membership.project.id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("grace's project")
    expect(page.locator("#first-ping-curl")).to_contain_text(
        f"/ping/{membership.project.ping_key}/my-first-job?create=1"
    )

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live}/accounts/login/")
    expect(page.locator("#first-account")).to_have_count(0)

    page.get_by_label("E-mail or username").fill("grace@example.com")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("grace's project")


def test_a_poll_answered_while_signing_out_does_not_overtake_the_sign_out(
    page: Page, signed_in: SignedIn, live: str
) -> None:
    """The dashboard polls every second; a poll answered after the session ended redirects to
    the sign-in page with `next` set to the dashboard. Here the sign-out is held in flight and
    every poll is answered that way: the sign-out's own navigation must still win."""
    dashboard = f"/projects/{signed_in.project.id}/"
    page.goto(dashboard)
    expect(page.locator("#first-ping-curl")).to_be_visible()
    held: list[Route] = []

    def answer(route: Route) -> None:
        if route.request.url.endswith("/accounts/logout/"):
            held.append(route)  # answered below, after the polls had their chance
        elif route.request.headers.get("hx-request"):
            route.fulfill(status=200, headers={"HX-Redirect": f"/accounts/login/?next={dashboard}"}, body="")
        else:
            route.continue_()

    page.route(re.compile(r".*"), answer)
    # Not waiting for the navigation the click starts: it is the one held.
    page.get_by_role("button", name="Sign out").click(no_wait_after=True)
    page.wait_for_timeout(2500)  # two poll periods (the live fixture's DASHBOARD_REFRESH_SECONDS)
    assert len(held) == 1
    assert page.url == f"{live}{dashboard}"
    held[0].continue_()
    expect(page).to_have_url(f"{live}/accounts/login/")


def test_wrong_password_is_refused_next_to_the_form(page: Page, live: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail or username").fill("nobody@example.com")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    expect(page.get_by_label("E-mail or username")).to_have_value("nobody@example.com")


def test_password_reset_link_from_the_email_sets_a_new_password(page: Page, live: str) -> None:
    from monitors.accounts import account_create

    account_create(email="lin@example.com", password="the old password")
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("lin@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")

    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/reset/\S+", str(mail.outbox[0].body))
    assert link is not None, mail.outbox[0].body
    assert link.group(0).startswith(live)
    page.goto(link.group(0))
    page.get_by_label("New password", exact=True).fill("the new password")
    page.get_by_label("New password confirmation").fill("the new password")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Password set")

    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("E-mail or username").fill("lin@example.com")
    page.get_by_label("Password").fill("the new password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("lin's project")
