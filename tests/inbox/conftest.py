"""The inbox tests: a real inbox on SQLite in the test's directory, and a scriptable JSON-RPC
peer (the subscription hook)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from signal_rest.inbox.delivery import Inbox
from signal_rest.inbox.store import InboxStore
from tests.jsonrpc.conftest import line_server, short_tmp

__all__ = ["inbox", "line_server", "short_tmp"]


@pytest.fixture
async def inbox(tmp_path: Path) -> AsyncIterator[Inbox]:
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.open()
    try:
        yield Inbox(store)
    finally:
        await store.close()
