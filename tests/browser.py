"""Shared Playwright fixtures for browser tests in Debian's Chromium.

tests/conftest.py registers the fixtures (``browser``, ``new_page``), so a test module just asks
for them and marks itself ``pytest.mark.browser`` and ``pytest.mark.django_db(transaction=True)``.
``new_page()`` pages collect their JavaScript errors (``page.js_errors``) and console messages
(``page.console``), so a test can assert that a page raised nothing and broke no
Content-Security-Policy rule.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
PASSWORD = "pw-not-secret-123"  # tests.factories.UserFactory

PageMaker = Callable[[], Page]


@pytest.fixture(scope="module")
def sync_orm_beside_playwright() -> Iterator[None]:
    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls (and
    # the database flush after each test) are synchronous. Set while the module using the
    # browser runs, so it never leaks into other tests or the processes they start.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(sync_orm_beside_playwright: None) -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[PageMaker]:
    contexts = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        console: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
        page.js_errors = errors  # type: ignore[attr-defined]
        page.console = console  # type: ignore[attr-defined]
        return page

    yield make
    for context in contexts:
        context.close()
    wait_for_requests_in_flight()


def wait_for_requests_in_flight(timeout: float = 15.0) -> None:
    """Wait until the live server has answered the requests a closed page left in flight.

    A page's autosave can reach the server just before its context closes; the request's
    thread then still holds its database locks while the test's teardown flushes the database,
    and on PostgreSQL the two deadlock (TRUNCATE against the request's reads).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [
            t for t in threading.enumerate() if t.is_alive() and "process_request_thread" in t.name
        ]
        if not busy:
            return
        time.sleep(0.05)


def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")
