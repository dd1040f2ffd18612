"""A real headless Chromium for the tests of pages (Swagger UI, console), driven by Playwright.

The browser is the machine's Chromium (Debian's package, installed by scripts/install-browser),
never a download of Playwright's own. It starts without background networking: this machine's
network is closed, and a page under test must need nothing beyond the service it comes from.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from playwright.sync_api import Browser, ConsoleMessage, Page, Route, sync_playwright

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

LOCAL = {"127.0.0.1", "localhost"}


def chromium_path() -> str:
    configured = os.environ.get("SIGNAL_REST_TEST_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        "no Chromium for the browser tests: run scripts/install-browser "
        "(or set SIGNAL_REST_TEST_CHROMIUM to a Chromium binary)"
    )


@contextmanager
def chromium() -> Iterator[Browser]:
    """Chromium with a fresh profile of Playwright's making, closed afterwards."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=FLAGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """A fresh page and the problems it met: console errors, uncaught exceptions, failed
    requests, and requests for anything not on 127.0.0.1 (refused: pages work offline)."""
    context = browser.new_context()
    problems: list[str] = []

    def elsewhere(route: Route) -> None:
        problems.append(f"request off this machine: {route.request.url}")
        route.abort()

    context.route(lambda url: urlsplit(url).hostname not in LOCAL, elsewhere)
    page = context.new_page()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "requestfailed",
        lambda request: problems.append(f"request failed: {request.method} {request.url}"),
    )
    try:
        yield page, problems
    finally:
        context.close()
