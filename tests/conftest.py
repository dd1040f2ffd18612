from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from signal_rest.config import GO_ENV_ALIASES
from tests.support.browser import chromium
from tests.support.flows import ALICE, BOB, register
from tests.support.service import RunningService, start_service


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test, never from the developer's environment."""
    go_names = {name for names in GO_ENV_ALIASES.values() for name in names}
    for name in list(os.environ):
        if name.startswith("SIGNAL_REST_") or name in go_names:
            monkeypatch.delenv(name)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    """signal-rest on the sandbox, on a free port, with a fresh data dir."""
    running = start_service(tmp_path / "data")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def accounts(service: RunningService) -> RunningService:
    """The service with ALICE and BOB registered."""
    register(service.client, ALICE)
    register(service.client, BOB)
    return service


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for a module's page tests (tests/support/browser.py). Per module,
    not per session: Playwright's sync API keeps an event loop running in the main thread while
    it is open, and every asyncio test after it would fail to start its own."""
    with chromium() as running:
        yield running
