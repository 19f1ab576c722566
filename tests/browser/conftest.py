"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Playwright's sync API leaves its event loop marked as running in the main
thread, and Django refuses database calls there unless
DJANGO_ALLOW_ASYNC_UNSAFE is set. It is set only while a test of this folder
runs (set up, call, tear down), and these tests run last, so that the browser
(a session fixture, closed during the last test's teardown) is never open
while the rest of the suite runs.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM = "/usr/bin/chromium"
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
HERE = Path(__file__).resolve().parent


def _is_browser_test(item: pytest.Item) -> bool:
    return Path(item.path).resolve().is_relative_to(HERE)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # After pytest-django's own ordering: the browser tests go last.
    items[:] = [item for item in items if not _is_browser_test(item)] + [
        item for item in items if _is_browser_test(item)
    ]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    if not _is_browser_test(item):
        return (yield)
    before = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        return (yield)
    finally:
        if before is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = before


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"The browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium).")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-quic",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    # Pages are opened by path (page.goto("/essays/…/")) on the live server.
    return live_server.url


@pytest.fixture(autouse=True)
def _quick_forms(settings):
    # The forms refuse a post sent within FORUM_MIN_SECONDS_TO_POST of being shown.
    settings.FORUM_MIN_SECONDS_TO_POST = 0


def _csp_violation(text: str) -> bool:
    return "Content Security Policy" in text or "Content-Security-Policy" in text


@pytest.fixture
def browser_problems():
    """What went wrong in the pages: CSP violations, uncaught script errors, other console errors."""
    return []


@pytest.fixture
def open_context(new_context, browser_problems):
    """A browser context whose console is watched; the test fails on a CSP violation or a script error."""

    def on_console(message) -> None:
        if message.type == "error":
            browser_problems.append(f"console error: {message.text}")

    def open_context(**options):
        context = new_context(**options)
        context.set_default_timeout(10_000)
        context.on("console", on_console)
        context.on("weberror", lambda error: browser_problems.append(f"uncaught script error: {error.error}"))
        return context

    yield open_context
    # A failed request (a 400 page, an aborted fetch) is logged too; everything else is a fault.
    serious = [p for p in browser_problems if _csp_violation(p) or not p.startswith("console error: Failed to load")]
    assert not serious, "The browser reported:\n" + "\n".join(browser_problems)


@pytest.fixture
def context(open_context):
    return open_context()


@pytest.fixture
def sign_in(live_server):
    """Sign a member in on a browser context (a session made by Django's test client)."""

    def sign_in(context, user) -> None:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])

    return sign_in
