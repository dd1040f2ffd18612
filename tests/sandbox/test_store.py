"""The sandbox's store: one commit per turn of the event loop, all or nothing per transaction."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

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


def test_a_read_is_remembered_until_its_table_is_written(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.run("INSERT INTO numbers (number, uuid) VALUES ('+4915100000001', 'u1')")
    sql = "SELECT uuid FROM numbers WHERE number = ?"
    assert dict(store.one(sql, "+4915100000001") or {}) == {"uuid": "u1"}
    assert store.one(sql, "+4915100000002") is None

    store.run("UPDATE numbers SET uuid = 'u2' WHERE number = '+4915100000001'")
    store.run("INSERT OR REPLACE INTO numbers (number, uuid) VALUES ('+4915100000002', 'u3')")

    assert dict(store.one(sql, "+4915100000001") or {}) == {"uuid": "u2"}
    assert dict(store.one(sql, "+4915100000002") or {}) == {"uuid": "u3"}
    store.run("DELETE FROM numbers WHERE number = ?", "+4915100000002")
    assert store.one(sql, "+4915100000002") is None
    store.close()


def test_a_joined_read_is_forgotten_when_either_table_is_written(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.run("INSERT INTO contacts (account, number) VALUES ('+4915100000001', '+4915100000002')")
    sql = (
        "SELECT c.number, b.target FROM contacts c LEFT JOIN blocked b "
        "ON b.account = c.account AND b.target = c.number WHERE c.account = ?"
    )

    def listed() -> list[tuple[str, str | None]]:
        return [(r["number"], r["target"]) for r in store.all(sql, "+4915100000001")]

    assert listed() == [("+4915100000002", None)]
    store.run("INSERT INTO blocked (account, target) VALUES ('+4915100000001', '+4915100000002')")
    assert listed() == [("+4915100000002", "+4915100000002")]
    store.run("INSERT INTO contacts (account, number) VALUES ('+4915100000001', '+4915100000003')")
    assert listed() == [("+4915100000002", "+4915100000002"), ("+4915100000003", None)]
    store.close()


def test_what_a_caller_does_to_a_list_it_got_changes_no_later_answer(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.set_meta("a", "1")
    rows = store.all("SELECT key, value FROM meta")
    rows.clear()
    assert [tuple(r) for r in store.all("SELECT key, value FROM meta")] == [("a", "1")]
    store.close()


async def test_a_rolled_back_transaction_leaves_no_remembered_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.set_meta("a", "1")
    with pytest.raises(ValueError), store.transaction():
        store.set_meta("a", "2")
        assert store.meta("a") == "2"  # read (and remembered) inside the failed transaction
        raise ValueError("this one fails")
    assert store.meta("a") == "1"
    with store.transaction():
        assert store.meta("a") == "1"
    store.close()


def test_a_statement_that_is_no_plain_write_forgets_every_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.set_meta("a", "1")
    assert store.meta("a") == "1"
    # A common table expression in front of the write: the store cannot tell what it writes.
    store.run("WITH v(x) AS (SELECT '2') UPDATE meta SET value = (SELECT x FROM v)")
    assert store.meta("a") == "2"
    store.close()


async def test_a_value_set_at_commit_is_read_at_once_and_written_with_the_batch(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    with store.transaction():
        store.set_meta("a", "1")
        store.set_meta_at_commit("stamp", "1")
    with pytest.raises(ValueError), store.transaction():
        store.set_meta_at_commit("stamp", "2")
        raise ValueError("a failed transaction keeps it")
    assert store.meta("stamp") == "2"
    assert committed(path) == {}

    await asyncio.sleep(0)

    assert committed(path) == {"a": "1", "stamp": "2"}
    assert store.meta("stamp") == "2"
    store.set_meta_at_commit("stamp", "3")  # no batch open: written at once
    assert committed(path) == {"a": "1", "stamp": "3"}
    store.close()


def _message(text: str) -> dict[str, Any]:
    envelope = {"source": "+4915100000002", "timestamp": 1, "dataMessage": {"message": text}}
    return {"envelope": envelope, "account": "+4915100000001"}


def test_a_queued_message_reads_as_it_was_queued_until_it_leaves(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    first, second = _message("one"), _message("two")
    store.enqueue("+4915100000001", first)
    store.enqueue("+4915100000001", second)
    store.enqueue("+4915100000009", _message("elsewhere"))
    first["account"] = "changed after"
    first["envelope"]["timestamp"] = 2

    queued = store.queued("+4915100000001")
    assert queued == [(1, _message("one")), (2, _message("two"))]
    assert store.queued("+4915100000001", 1, after=1) == [(2, _message("two"))]
    store.dequeue([1])
    assert store.queued("+4915100000001") == [(2, _message("two"))]
    store.close()

    again = Store(path)  # a restarted sandbox reads them from the file
    assert again.queued("+4915100000001") == [(2, _message("two"))]
    again.close()


def test_a_message_queued_by_a_failed_transaction_is_not_queued(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    with pytest.raises(ValueError), store.transaction():
        store.enqueue("+4915100000001", _message("undone"))
        raise ValueError("this one fails")
    store.enqueue("+4915100000001", _message("kept"))  # may get the seq the failed one had

    assert [m for _, m in store.queued("+4915100000001")] == [_message("kept")]
    store.close()


def test_messages_deleted_by_another_statement_leave_the_queue(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.enqueue("+4915100000001", _message("one"))
    store.enqueue("+4915100000009", _message("two"))
    assert len(store.queued("+4915100000001")) == 1
    store.run("DELETE FROM queue WHERE number = ?", "+4915100000001")  # an account leaving
    store.enqueue("+4915100000001", _message("three"))

    assert [m for _, m in store.queued("+4915100000001")] == [_message("three")]
    assert [m for _, m in store.queued("+4915100000009")] == [_message("two")]
    store.close()


def test_reads_with_equal_numbers_of_other_types_are_told_apart(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.set_meta("1", "text key")
    sql = "SELECT value FROM meta WHERE key = ?"
    # The TEXT column takes 1 as '1' but 1.0 as '1.0': equal in Python, not to SQLite.
    assert dict(store.one(sql, 1) or {}) == {"value": "text key"}
    assert store.one(sql, 1.0) is None
    assert dict(store.one(sql, 1) or {}) == {"value": "text key"}
    with pytest.raises(sqlite3.ProgrammingError):
        store.one(sql, ["not", "a", "value"])
    store.close()


def test_a_read_of_several_tables_is_forgotten_when_any_of_them_is_written(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "s.sqlite3")
    store.run("INSERT INTO numbers (number, uuid) VALUES ('+4915100000001', 'u1')")
    store.run("INSERT INTO accounts (number, device_id, created) VALUES ('+4915100000001', 1, 0)")
    comma = "SELECT n.uuid FROM accounts a, numbers n WHERE a.number = n.number AND a.number = ?"
    nested = (
        "SELECT number FROM accounts WHERE number IN (SELECT number FROM numbers WHERE uuid = ?)"
    )
    assert [r["uuid"] for r in store.all(comma, "+4915100000001")] == ["u1"]
    assert [r["number"] for r in store.all(nested, "u1")] == ["+4915100000001"]

    store.run("UPDATE numbers SET uuid = 'u2' WHERE number = '+4915100000001'")

    assert [r["uuid"] for r in store.all(comma, "+4915100000001")] == ["u2"]
    assert store.all(nested, "u1") == []
    store.close()
