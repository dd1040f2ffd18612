"""The sandbox's store: one commit per turn of the event loop, all or nothing per transaction."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from signal_rest.sandbox.store import Store


def committed(path: Path) -> dict[str, str]:
    """What another connection (another process) sees of the meta table."""
    with sqlite3.connect(path) as other:
        return dict(other.execute("SELECT key, value FROM meta").fetchall())


def test_without_an_event_loop_each_transaction_commits_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    with store.transaction():
        store.set_meta("a", "1")
    assert committed(tmp_path / "s.sqlite3") == {"a": "1"}
    store.close()


async def test_on_a_loop_transactions_share_one_commit_at_the_next_turn(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    with store.transaction():
        store.set_meta("a", "1")
    with pytest.raises(ValueError), store.transaction():
        store.set_meta("b", "2")
        raise ValueError("this one fails")
    with store.transaction():
        store.set_meta("c", "3")
    assert committed(path) == {}  # nothing told yet: nothing committed
    assert store.meta("b") is None  # the failed one is undone at once, the others stay
    assert (store.meta("a"), store.meta("c")) == ("1", "3")

    await asyncio.sleep(0)  # the loop's next turn commits the batch

    assert committed(path) == {"a": "1", "c": "3"}
    store.close()


async def test_flush_commits_before_anything_leaves_the_sandbox(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    with store.transaction():
        store.set_meta("a", "1")
        store.flush()  # inside a transaction: not yet
        assert committed(path) == {}
    store.flush()
    assert committed(path) == {"a": "1"}
    with store.transaction():
        store.set_meta("b", "2")
    store.close()  # closing commits what is open
    assert committed(path) == {"a": "1", "b": "2"}
