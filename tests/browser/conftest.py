"""Browser tests in real Chromium (Debian's /usr/bin/chromium driven by Playwright).

Fixtures for every page's browser tests:
- `browser`: one Chromium per test module (headless).
- `live`: the app served by pytest-django's threaded `live_server` (transactional database,
  PostgreSQL or SQLite); SITE_URL points at it and the dashboard refreshes every second.
- `context` / `page`: a fresh browser context (1280x800) and its page, with `base_url` set,
  so `page.goto("/")` works. `phone` is a 375x740 touch context's page.
- `signed_in`: a user with a project of their own, signed in in `context` (and `phone`).
- `make_context(signed_in=…, **options)`: another context (e.g. `java_script_enabled=False`),
  signed in as that user when given, closed after the test.
- `screenshot("name")`: saves the page, whole, to var/screenshots/name.png.
- `element_screenshot(locator, "name")`: saves one element; the page's polls may swap it
  while Chromium takes the picture, and then the picture is taken again.

Without Chromium the tests skip, except in CI (`CI=true`, or `VIGIL_REQUIRE_BROWSER=1` as
`.ci/run` sets), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Error, Locator, Page, sync_playwright
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from monitors.accounts import account_create
from monitors.models import Project
from tests.browser import in_flight

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(django_settings.BASE_DIR) / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true" or os.environ.get("VIGIL_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API keeps an asyncio loop running in this thread, and Django refuses
    # ORM calls from a thread with a running loop. The test code never awaits, so the check
    # is lifted while the browser lives, and put back after (other tests keep it).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def live(live_server: LiveServer, settings: Settings) -> Iterator[str]:
    """The live server's base URL; links and curl lines the pages show point at it.

    Torn down after the browser contexts and before the database flush: it waits for the
    requests they left running (tests/browser/in_flight.py)."""
    in_flight.track()
    settings.SITE_URL = live_server.url
    settings.DASHBOARD_REFRESH_SECONDS = 1
    yield str(live_server.url)
    in_flight.wait_until_idle()


def _new_context(browser: Browser, live: str, **options: object) -> BrowserContext:
    context = browser.new_context(base_url=live, **options)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def context(browser: Browser, live: str) -> Iterator[BrowserContext]:
    context = _new_context(browser, live, viewport=DESKTOP, timezone_id="Europe/Berlin", locale="en-GB")
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def phone_context(browser: Browser, live: str) -> Iterator[BrowserContext]:
    context = _new_context(
        browser, live, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, locale="en-GB"
    )
    yield context
    context.close()


@pytest.fixture
def phone(phone_context: BrowserContext) -> Page:
    return phone_context.new_page()


@dataclass
class SignedIn:
    user: User
    project: Project
    email: str
    password: str


def sign_in_context(context: BrowserContext, live: str, *, email: str, password: str) -> None:
    """Give a browser context the session cookie of a real sign-in (the sign-in form has its
    own tests; the rest need not type it every time)."""
    client = Client()
    assert client.login(username=email, password=password)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live}])


@pytest.fixture
def signed_in(
    transactional_db: None, context: BrowserContext, phone_context: BrowserContext, live: str
) -> SignedIn:
    email = "ada@example.com"
    user, project = account_create(email=email, password=PASSWORD)
    for each in (context, phone_context):
        sign_in_context(each, live, email=email, password=PASSWORD)
    return SignedIn(user=user, project=project, email=email, password=PASSWORD)


@pytest.fixture
def make_context(browser: Browser, live: str) -> Iterator[Callable[..., BrowserContext]]:
    made: list[BrowserContext] = []

    def make(signed_in: SignedIn | None = None, **options: object) -> BrowserContext:
        options.setdefault("viewport", DESKTOP)
        context = _new_context(browser, live, **options)
        made.append(context)
        if signed_in is not None:
            sign_in_context(context, live, email=signed_in.email, password=signed_in.password)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def screenshot(page: Page) -> Callable[..., Path]:
    def save(name: str, on: Page | None = None) -> Path:
        path = screenshot_path(name)
        (on or page).screenshot(path=str(path), full_page=True)
        return path

    return save


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


# Tries before a swapped element's screenshot fails the test.
ELEMENT_SCREENSHOT_TRIES = 5


def element_screenshot(locator: Locator, name: str) -> Path:
    """One element's picture. A poll that swaps the element (htmx, every second in these tests)
    between Playwright finding it and drawing it detaches it: find it again and retry."""
    path = screenshot_path(name)
    for _ in range(ELEMENT_SCREENSHOT_TRIES - 1):
        try:
            locator.screenshot(path=str(path))
            return path
        except Error as error:
            if "not attached to the DOM" not in error.message:
                raise
    locator.screenshot(path=str(path))
    return path
