"""The durable inbox store: what it keeps, for how long, and across restarts."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from signal_rest import jsoncodec
from signal_rest.inbox.delivery import Inbox
from signal_rest.inbox.store import InboxStore

ACCOUNT = "+4915100000001"


async def held_store(path: Path) -> tuple[InboxStore, threading.Event, asyncio.Future[Any]]:
    """An open store whose writer is busy until the returned event is set: what is submitted
    meanwhile queues up and goes into one batch. The future is the busy write's."""
    store = InboxStore(path)
    await store.open()
    gate = threading.Event()
    return store, gate, store.submit(lambda conn: gate.wait(10))


def counting(runs: list[int]) -> Callable[[sqlite3.Connection], int]:
    """A write that counts the stored messages and notes the count in `runs` each time it runs:
    a batch runs its writes a second time only when one of them failed."""

    def count(conn: sqlite3.Connection) -> int:
        counted: int = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        runs.append(counted)
        return counted

    return count


def message(ts: int, text: str) -> dict[str, Any]:
    return {
        "envelope": {"timestamp": ts, "dataMessage": {"timestamp": ts, "message": text}},
        "account": ACCOUNT,
    }


async def test_add_keeps_messages_pending_in_order_and_stores_duplicates_once(
    tmp_path: Path,
) -> None:
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.open()
    try:
        first = await store.add(ACCOUNT, message(1, "one"))
        second = await store.add(ACCOUNT, message(2, "two"))
        # The same notification again (a daemon that also auto-subscribes sends it twice).
        assert await store.add(ACCOUNT, {"account": ACCOUNT, **message(1, "one")}) is None
        pending = await store.pending(ACCOUNT)
        assert [(m.id, m.message) for m in pending] == [
            (first, message(1, "one")),
            (second, message(2, "two")),
        ]
        assert [m.id for m in await store.pending(ACCOUNT, limit=1)] == [first]
        assert await store.pending("+4915100000002") == []
    finally:
        await store.close()


async def test_messages_survive_closing_and_reopening(tmp_path: Path) -> None:
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.open()
    kept = await store.add(ACCOUNT, message(1, "kept"))
    taken = await store.add(ACCOUNT, message(2, "taken"))
    assert kept is not None and taken is not None
    await store.mark_delivered([taken])
    await store.close()

    reopened = InboxStore(tmp_path / "inbox.sqlite3")
    await reopened.open()
    try:
        assert [m.message for m in await reopened.pending(ACCOUNT)] == [message(1, "kept")]
        assert await reopened.is_delivered(taken)
        assert not await reopened.is_delivered(kept)
    finally:
        await reopened.close()


async def test_purge_forgets_only_old_delivered_messages(tmp_path: Path) -> None:
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.open()
    try:
        old = await store.add(ACCOUNT, message(1, "old"))
        recent = await store.add(ACCOUNT, message(2, "recent"))
        pending = await store.add(ACCOUNT, message(3, "pending"))
        assert old is not None and recent is not None and pending is not None
        await store.mark_delivered([old, recent])
        await store.write(
            lambda conn: conn.execute(
                "UPDATE messages SET delivered_at = ? WHERE id = ?", (time.time() - 7200, old)
            )
        )
        assert await store.purge(time.time() - 3600, seen_since=0.0) == 1
        assert await store.get(old) is None
        assert await store.get(recent) is not None
        assert [m.id for m in await store.pending(ACCOUNT)] == [pending]
        assert (
            await store.purge(time.time() + 1, seen_since=0.0) == 1
        )  # recent; never the pending one
        assert [m.id for m in await store.pending(ACCOUNT)] == [pending]
    finally:
        await store.close()


async def test_failed_write_rolls_back_and_hands_the_error_back(tmp_path: Path) -> None:
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.open()

    def insert_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO messages (account, digest, payload, received_at) VALUES (?, 'x', '{}', 0)",
            (ACCOUNT,),
        )
        raise ValueError("refused")

    try:
        with pytest.raises(ValueError, match="refused"):
            await asyncio.wait_for(store.write(insert_then_fail), 10)
        assert await store.pending(ACCOUNT) == []
        # The writer is not left inside the failed transaction: the next write commits.
        kept = await asyncio.wait_for(store.add(ACCOUNT, message(1, "kept")), 10)
        assert [(m.id, m.message) for m in await store.pending(ACCOUNT)] == [
            (kept, message(1, "kept"))
        ]
    finally:
        await store.close()
    reopened = InboxStore(tmp_path / "inbox.sqlite3")
    await reopened.open()
    try:
        assert [m.message for m in await reopened.pending(ACCOUNT)] == [message(1, "kept")]
    finally:
        await reopened.close()


async def test_close_drains_pending_writes(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "twice" / "inbox.sqlite3"
    store = InboxStore(path)
    await store.open()
    gate = threading.Event()
    blocker = asyncio.create_task(store.write(lambda conn: gate.wait(10)))
    adds = [asyncio.create_task(store.add(ACCOUNT, message(i, f"m{i}"))) for i in range(20)]
    await asyncio.sleep(0)  # every write is queued, behind the blocker
    threading.Timer(0.2, gate.set).start()
    await store.close()
    # Once close returns, every write is on disk.
    with contextlib.closing(sqlite3.connect(path)) as conn:
        stored = conn.execute("SELECT payload FROM messages ORDER BY id").fetchall()
    assert [json.loads(payload) for (payload,) in stored] == [
        message(i, f"m{i}") for i in range(20)
    ]
    ids = await asyncio.wait_for(asyncio.gather(*adds), 10)
    assert len(set(ids)) == 20
    await blocker


async def test_closed_store_refuses_reads_and_closes_again_quietly(tmp_path: Path) -> None:
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.close()  # never opened
    await store.open()
    await store.add(ACCOUNT, message(1, "one"))
    await store.close()
    await store.close()
    with pytest.raises(RuntimeError, match=r"^the inbox is not open$"):
        await store.pending(ACCOUNT)


async def test_get_and_is_delivered_tell_one_message(tmp_path: Path) -> None:
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.open()
    try:
        stored = await store.add(ACCOUNT, message(1, "one"))
        assert stored is not None
        found = await store.get(stored)
        assert found is not None
        assert (found.id, found.account, found.message) == (stored, ACCOUNT, message(1, "one"))
        assert not await store.is_delivered(stored)
        await store.mark_delivered([stored])
        assert await store.is_delivered(stored)
        assert not await store.is_delivered(stored + 1)
        assert await store.get(stored + 1) is None
    finally:
        await store.close()


async def test_write_the_database_refuses_hands_the_error_back(tmp_path: Path) -> None:
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.open()
    try:
        stored = await store.add(ACCOUNT, message(1, "one"))
        assert stored is not None
        await store.write(lambda conn: conn.execute("PRAGMA query_only = 1"))
        # Even BEGIN fails now; each caller gets the error instead of waiting forever.
        for _ in range(2):
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await asyncio.wait_for(store.mark_delivered([stored]), 10)
        assert not await store.is_delivered(stored)
    finally:
        await asyncio.wait_for(store.close(), 10)


async def test_writer_is_one_named_daemon_thread(tmp_path: Path) -> None:
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.open()
    try:
        # A daemon, so a process that exits without closing the store does not hang on it.
        writers = [t for t in threading.enumerate() if t.name == "inbox-writer"]
        assert [(t.daemon, t.is_alive()) for t in writers] == [(True, True)]
    finally:
        await store.close()
    assert not [t for t in threading.enumerate() if t.name == "inbox-writer"]


async def test_writes_queued_together_share_a_transaction_and_fail_alone(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite3"
    store, gate, blocker = await held_store(path)

    def fail(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO messages (account, digest, payload, received_at) VALUES (?, 'x', '{}', 0)",
            (ACCOUNT,),
        )
        raise ValueError("refused")

    def committed(conn: sqlite3.Connection) -> int:
        """What another connection sees now, from inside the writer's transaction."""
        with contextlib.closing(sqlite3.connect(path)) as other:
            count: int = other.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
            return count

    try:
        queued: list[asyncio.Future[Any]] = [
            store.add_soon(ACCOUNT, message(1, "one")),
            store.submit(fail),
            store.submit(committed),
            store.add_soon(ACCOUNT, message(2, "two")),
        ]
        gate.set()
        first, refused, seen, second = await asyncio.wait_for(
            asyncio.gather(*queued, return_exceptions=True), 10
        )
        assert await blocker
        assert isinstance(refused, ValueError)
        assert seen == 0  # the first add was not committed yet: one transaction for all
        assert [(m.id, m.message) for m in await store.pending(ACCOUNT)] == [
            (first, message(1, "one")),
            (second, message(2, "two")),
        ]
    finally:
        await store.close()


async def test_the_daemons_reader_does_not_wait_for_each_commit_and_order_holds(
    tmp_path: Path,
) -> None:
    store, gate, blocker = await held_store(tmp_path / "inbox.sqlite3")
    try:
        inbox = Inbox(store)
        heard: list[int] = []
        inbox.consumers.listen(lambda m: heard.append(m.message["envelope"]["timestamp"]))
        for ts in range(1, 201):
            # Returns while the writer is busy: the message is queued, not yet on disk.
            await asyncio.wait_for(inbox.on_notification_pipelined("receive", message(ts, "m")), 5)
        assert heard == []  # nobody sees a message before its commit
        gate.set()
        await asyncio.wait_for(inbox.settled(), 10)
        assert heard == list(range(1, 201))
        stored = await store.pending(ACCOUNT)
        assert [m.message["envelope"]["timestamp"] for m in stored] == list(range(1, 201))
        assert [m.id for m in stored] == sorted(m.id for m in stored)
        assert await blocker
    finally:
        await store.close()


async def test_messages_queued_together_get_their_ids_in_order_and_duplicates_none(
    tmp_path: Path,
) -> None:
    # Consecutive messages of a batch go into one INSERT; each caller still hears of its own
    # row, a repeat (even of a batch-mate) of none, and other writes keep their place.
    store, gate, blocker = await held_store(tmp_path / "inbox.sqlite3")
    other = "+4915100000002"
    with_file = {
        "envelope": {
            "timestamp": 4,
            "dataMessage": {
                "timestamp": 4,
                "attachments": [{"contentType": "image/png", "id": "a.png"}],
            },
        },
        "account": other,
    }
    runs: list[int] = []
    count = counting(runs)
    try:
        queued: list[asyncio.Future[Any]] = [
            store.submit(count),
            store.add_soon(ACCOUNT, message(1, "one")),
            store.add_soon(ACCOUNT, message(2, "two")),
            store.add_soon(ACCOUNT, message(1, "one")),  # the same notification again
            store.submit(count),
            store.add_soon(other, with_file),
            store.add_soon(ACCOUNT, message(3, "three")),
        ]
        gate.set()
        _, first, second, again, counted, fourth, third = await asyncio.wait_for(
            asyncio.gather(*queued), 10
        )
        assert await blocker
        # No write failed, so the batch ran once: it is run again write by write only then.
        assert (again, counted, runs) == (None, 2, [0, 2])
        assert first < second < fourth < third
        assert [(m.id, m.message) for m in await store.pending(ACCOUNT)] == [
            (first, message(1, "one")),
            (second, message(2, "two")),
            (third, message(3, "three")),
        ]
        assert [(m.id, m.message) for m in await store.pending(other)] == [(fourth, with_file)]
        assert await store.attachment_ids() == ["a.png"]
    finally:
        await store.close()


async def test_a_batch_of_messages_all_stored_already_adds_none(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite3"
    store = InboxStore(path)
    await store.open()
    stored = [await store.add(ACCOUNT, message(n, f"m{n}")) for n in (1, 2)]
    await store.close()
    store, gate, blocker = await held_store(path)
    runs: list[int] = []
    count = counting(runs)
    try:
        queued: list[asyncio.Future[Any]] = [
            store.submit(count),
            store.add_soon(ACCOUNT, message(1, "m1")),
            store.add_soon(ACCOUNT, message(2, "m2")),
        ]
        gate.set()
        assert await asyncio.wait_for(asyncio.gather(*queued), 10) == [2, None, None]
        assert await blocker
        assert runs == [2]  # the batch ran once: nothing failed
        assert [m.id for m in await store.pending(ACCOUNT)] == stored
    finally:
        await store.close()


async def test_a_message_that_cannot_be_stored_leaves_its_batch_mates_committed(
    tmp_path: Path,
) -> None:
    # A batch runs without a savepoint per write; when one write fails, the batch runs again
    # with one savepoint each, so only that write is lost.
    store, gate, blocker = await held_store(tmp_path / "inbox.sqlite3")
    try:
        queued: list[asyncio.Future[Any]] = [
            store.add_soon(ACCOUNT, message(1, "one")),
            store.add_soon(["not", "an", "account"], message(2, "bad")),  # type: ignore[arg-type]
            store.add_soon(ACCOUNT, message(3, "three")),
            store.add_soon(ACCOUNT, message(1, "one")),  # the same notification again
        ]
        gate.set()
        first, bad, third, again = await asyncio.wait_for(
            asyncio.gather(*queued, return_exceptions=True), 10
        )
        assert await blocker
        assert isinstance(bad, sqlite3.ProgrammingError)
        assert again is None
        assert [(m.id, m.message) for m in await store.pending(ACCOUNT)] == [
            (first, message(1, "one")),
            (third, message(3, "three")),
        ]
        with contextlib.closing(sqlite3.connect(store.path)) as other:
            assert other.execute("SELECT id, account FROM messages ORDER BY id").fetchall() == [
                (first, ACCOUNT),
                (third, ACCOUNT),
            ]
    finally:
        await store.close()


def _notes(path: Path) -> list[str]:
    """The notes another connection sees committed now."""
    with contextlib.closing(sqlite3.connect(path)) as other:
        sql = "SELECT digest FROM messages WHERE account = 'note' ORDER BY id"
        return [r[0] for r in other.execute(sql)]


async def test_writes_that_need_no_sync_share_a_synced_commit_or_commit_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "inbox.sqlite3"
    store = InboxStore(path)
    await store.open()

    def note(text: str) -> Any:
        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO messages (account, digest, payload, received_at) "
                "VALUES ('note', ?, '{}', 0)",
                (text,),
            )

        return insert

    try:
        # Alone, a write that needs no sync is committed all the same.
        await asyncio.wait_for(store.write(note("alone"), sync=False), 10)
        assert _notes(path) == ["alone"]

        gate = threading.Event()
        blocker = store.submit(lambda conn: gate.wait(10))
        queued: list[asyncio.Future[Any]] = [
            store.submit(note("lazy"), sync=False),
            store.add_soon(ACCOUNT, message(1, "one")),
            store.submit(lambda conn: _notes(path), sync=False),
        ]
        gate.set()
        _, stored, seen = await asyncio.wait_for(asyncio.gather(*queued), 10)
        assert await blocker
        assert seen == ["alone"]  # the lazy write and the message: one transaction
        assert [m.id for m in await store.pending(ACCOUNT)] == [stored]
    finally:
        await store.close()
    assert _notes(path) == ["alone", "lazy"]  # kept across a restart


async def test_messages_alike_but_for_their_timestamp_or_content_are_all_kept(
    tmp_path: Path,
) -> None:
    # The digest that spots repeats starts with the envelope's timestamp; messages with the
    # same timestamp, or with none usable, are still told apart by their content.
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.open()
    odd: list[dict[str, Any]] = [
        {"envelope": {"dataMessage": {"message": "no timestamp"}}, "account": ACCOUNT},
        {"envelope": {"timestamp": -5, "dataMessage": {"message": "negative"}}, "account": ACCOUNT},
        {
            "envelope": {"timestamp": 1 << 64, "dataMessage": {"message": "huge"}},
            "account": ACCOUNT,
        },
        {"envelope": {"timestamp": "7"}, "account": ACCOUNT},
        {"envelope": "not an object", "account": ACCOUNT},
    ]
    try:
        sent = [message(7, "one"), message(7, "two"), message(8, "one"), *odd]
        ids = [await store.add(ACCOUNT, m) for m in sent]
        # Each again, one at a time and queued together: none is stored twice.
        assert [await store.add(ACCOUNT, m) for m in sent] == [None] * len(sent)
        again = await asyncio.gather(*[store.add_soon(ACCOUNT, m) for m in reversed(sent)])
        assert again == [None] * len(sent)
        assert [(m.id, m.message) for m in await store.pending(ACCOUNT)] == list(
            zip(ids, sent, strict=True)
        )
    finally:
        await store.close()


def _as_before_digests(path: Path) -> None:
    """Turn an inbox into what signal-rest stored before digests began with the timestamp:
    each digest the whole SHA-256 of the message (keys sorted) in hex, user_version 0."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        rows = conn.execute("SELECT id, payload FROM messages").fetchall()
        for message_id, payload in rows:
            content = jsoncodec.dumps(json.loads(payload), sort_keys=True)
            conn.execute(
                "UPDATE messages SET digest = ? WHERE id = ?",
                (hashlib.sha256(content).hexdigest(), message_id),
            )
        conn.execute("PRAGMA user_version = 0")


def _digests(path: Path) -> list[tuple[str, int, int]]:
    """Each stored digest's SQLite type, length, and the timestamp it starts with."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT typeof(digest), digest FROM messages ORDER BY id").fetchall()
    return [(kind, len(value), int.from_bytes(value[:8], "big")) for kind, value in rows]


async def test_an_inbox_with_the_older_digests_keeps_its_messages_and_spots_repeats(
    tmp_path: Path,
) -> None:
    path = tmp_path / "inbox.sqlite3"
    kept = [
        message(1_796_003_126_411, "one"),
        {"envelope": {"dataMessage": {"message": "no timestamp"}}, "account": ACCOUNT},
        message(1_796_003_126_412, "two"),
        {"envelope": {"timestamp": 1.5}, "account": ACCOUNT},
    ]
    store = InboxStore(path)
    await store.open()
    ids = [await store.add(ACCOUNT, m) or 0 for m in [*kept, message(9, "purged")]]
    await store.mark_delivered([ids[-1]])
    await store.purge(time.time() + 1, 0)  # the newest id is gone, and is not given again
    await store.close()
    _as_before_digests(path)

    for _ in range(2):  # the rewrite runs once; opening again changes nothing
        reopened = InboxStore(path)
        await reopened.open()
        try:
            assert [(m.id, m.message) for m in await reopened.pending(ACCOUNT)] == list(
                zip(ids[:-1], kept, strict=True)
            )
            assert await reopened.add(ACCOUNT, kept[0]) is None
            assert await asyncio.gather(*[reopened.add_soon(ACCOUNT, m) for m in kept]) == [
                None
            ] * len(kept)
        finally:
            await reopened.close()
        assert _digests(path) == [
            ("blob", 24, 1_796_003_126_411),
            ("blob", 24, 0),
            ("blob", 24, 1_796_003_126_412),
            ("blob", 24, 0),
        ]
        with contextlib.closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone() == (1,)

    reopened = InboxStore(path)
    await reopened.open()
    try:
        # Ids keep growing past the purged one (a repeat ignored may use one up too).
        new = await reopened.add(ACCOUNT, message(10, "new"))
        assert (new or 0) > ids[-1]
    finally:
        await reopened.close()


async def test_reading_the_pending_messages_skips_the_delivered_ones_kept_for_retention(
    tmp_path: Path,
) -> None:
    # Counted in SQLite's own steps, not in time: the read of what is pending (each poll, a
    # websocket catching up, a new consumer's start) costs the same with 3,000 delivered
    # messages ahead of the pending one as with 30.
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.open()
    steps: list[int] = []

    def step() -> int:
        steps.append(1)
        return 0  # go on

    def counted(conn: sqlite3.Connection) -> None:
        conn.set_progress_handler(step, 100)

    try:
        costs = []
        for delivered in (30, 3000):
            ids = await asyncio.gather(
                *[store.add_soon(ACCOUNT, message(i, "taken")) for i in range(delivered)]
            )
            await store.mark_delivered([i for i in ids if i is not None])
            waiting = await store.add(ACCOUNT, message(delivered, "waiting"))
            await asyncio.to_thread(store._with_reader, counted)
            steps.clear()
            assert [m.id for m in await store.pending(ACCOUNT, limit=5)] == [waiting]
            costs.append(len(steps))
            await store.mark_delivered([waiting or 0])
        assert costs[1] <= costs[0] + 1
    finally:
        await store.close()
