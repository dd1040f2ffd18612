"""The durable inbox: every message the daemon hands us is written to SQLite before anyone sees it.

All writes go through one writer thread. What is queued while it commits goes into the next
transaction together (one sync to disk for a burst); one write that fails takes none of the
others with it. A caller hears of its write only once that transaction is committed:

    store = InboxStore(path)
    await store.open()
    message_id = await store.add("+4915…", {"envelope": …, "account": "+4915…"})
    rows = await store.pending("+4915…", limit=10)     # oldest first
    await store.mark_delivered([row.id for row in rows])
    await store.close()                                # drains pending writes first

A message is kept until every consumer that wants it has it: the unnamed clients (REST poll,
websocket) mark it delivered, named consumers keep a position (`positions`). Identical
notifications (a daemon that also auto-subscribes delivers each message twice) are stored once:
a message's `digest` is its envelope's timestamp (8 bytes, big-endian) and the start of a SHA-256
of its content, so the unique index grows at its end, as the other two do, and a burst of
messages writes a few pages of it, not one page per message at random (see `_digest`).

Messages and delivered marks are synced to disk before their callers hear of them
(`synchronous=FULL`). Writes submitted with `sync=False` (where named consumers stand, when
clients were seen) are committed as well, visible at once and kept when the process dies, but
reach the disk with the next synced commit, the next checkpoint or `close`: a machine crash
(power loss, kernel panic) may set them back by that much, never any other write.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from signal_rest import jsoncodec
from signal_rest.inbox import attachments, positions
from signal_rest.inbox.positions import ALL, PENDING, PositionRow

__all__ = ["InboxStore", "StoredMessage"]

T = TypeVar("T")

log = logging.getLogger(__name__)

# `digest` holds bytes (`_digest`); the hex text of older data dirs is rewritten on open.
SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    digest TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at REAL NOT NULL,
    delivered_at REAL,
    UNIQUE (account, digest)
);
CREATE INDEX IF NOT EXISTS messages_pending ON messages (account, id) WHERE delivered_at IS NULL;
"""


@dataclass(frozen=True)
class StoredMessage:
    id: int
    account: str
    message: dict[str, Any]


_STOP = object()
# Most writes that share one transaction.
MAX_BATCH = 512
# Most messages in one INSERT (4 parameters each; SQLite allows 32,766).
MAX_INSERT = 256
# Seconds a write that needs no sync may wait for one that does, to share its commit.
LAZY_WAIT = 0.005
# Where attachment ids may be found in a stored payload (see `attachments.record`).
_ATTACHMENT_KEY = '"contentType"'
# The inbox's `user_version` once its digests are as `_digest` makes them (before: 0, the
# SHA-256 in hex).
DIGESTS_VERSION = 1
# Bytes of the SHA-256 kept in a digest, after the 8 of the timestamp.
_HASH_BYTES = 16


class InboxStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._write_loop, args=(loop, ready), name="inbox-writer", daemon=True
        )
        self._thread.start()
        await ready
        self._reader = sqlite3.connect(self.path, check_same_thread=False)

    async def close(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def write(self, fn: Callable[[sqlite3.Connection], T], *, sync: bool = True) -> T:
        """Run `fn(conn)` in a transaction on the writer thread; returns once it is committed
        (and synced to disk, unless `sync=False`: see the module's docstring)."""
        return await self.submit(fn, sync=sync)

    def submit(
        self, fn: Callable[[sqlite3.Connection], T], *, sync: bool = True
    ) -> asyncio.Future[T]:
        """`write`, queued now: the future is done once `fn` ran and its transaction was
        committed. Writes run in the order submitted; those queued together share one
        transaction (and one sync to disk, when one of them needs it). When one fails, the
        transaction is rolled back and the batch runs again with each write in a savepoint of
        its own, so the others still commit: `fn` may run twice, and must change nothing but
        the database."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, future, loop, sync))
        return future

    async def add(self, account: str, message: dict[str, Any]) -> int | None:
        """Store one message; None when the very same message is already stored."""
        return await self.add_soon(account, message)

    def add_soon(self, account: str, message: dict[str, Any]) -> asyncio.Future[int | None]:
        """`add`, queued now (see `submit`)."""
        return self.submit(_Insert(account, message))

    async def mark_delivered(self, ids: list[int], *, sync: bool = True) -> None:
        """Mark messages delivered (`sync=False`: see `write`)."""
        if not ids:
            return
        now = time.time()

        def update(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE messages SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
                [(now, i) for i in ids],
            )

        await self.write(update, sync=sync)

    async def retire(self, account: str) -> None:
        """`account`'s local data is gone: what it had not taken yet counts as delivered, so no
        consumer gets it any more and retention removes it like any delivered message."""
        now = time.time()

        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"UPDATE messages {PENDING} SET delivered_at = ? "
                "WHERE account = ? AND delivered_at IS NULL",
                (now, account),
            )
            positions.retire(conn, account)

        await self.write(update)

    async def purge(self, kept_until: float, seen_since: float) -> int:
        """Forget the messages every consumer is done with, older than the epoch time
        `kept_until`; consumers not seen since `seen_since` hold none back (see
        `positions.purge`)."""
        return await self.write(lambda conn: positions.purge(conn, kept_until, seen_since))

    async def after(
        self, account: str, position: int, limit: int | None = None
    ) -> list[StoredMessage]:
        """Messages of `account` ("*": of every account) with ids above `position`, oldest
        first: what a named consumer at `position` has not had yet."""
        sql = "SELECT id, account, payload FROM messages WHERE id > ?"
        args: tuple[Any, ...] = (position,)
        if account != ALL:
            sql += " AND account = ?"
            args += (account,)
        sql += " ORDER BY id" + (" LIMIT ?" if limit else "")
        args += (limit,) if limit else ()
        rows = await asyncio.to_thread(self._read, sql, args)
        return [StoredMessage(r[0], r[1], jsoncodec.loads(r[2])) for r in rows]

    async def newest(self) -> int:
        """The id of the newest message stored (0 when there is none)."""
        rows = await asyncio.to_thread(self._read, "SELECT COALESCE(MAX(id), 0) FROM messages", ())
        return int(rows[0][0])

    async def accounts(self) -> list[str]:
        """The accounts with messages in the inbox, sorted."""
        rows = await asyncio.to_thread(
            self._read, "SELECT DISTINCT account FROM messages ORDER BY account", ()
        )
        return [str(r[0]) for r in rows]

    async def positions(self) -> list[PositionRow]:
        """Every named consumer's row, with its lag."""
        return await asyncio.to_thread(self._with_reader, positions.rows)

    async def pending(
        self, account: str, limit: int | None = None, *, after: int | None = None
    ) -> list[StoredMessage]:
        """Messages for `account` that no consumer has taken yet, oldest first; only those
        with an id above `after`, when given."""
        sql = f"SELECT id, account, payload FROM messages {PENDING} WHERE account = ?"
        sql += " AND delivered_at IS NULL" + (" AND id > ?" if after is not None else "")
        sql += " ORDER BY id" + (" LIMIT ?" if limit else "")
        args: tuple[Any, ...] = (account,)
        args += (after,) if after is not None else ()
        args += (limit,) if limit else ()
        rows = await asyncio.to_thread(self._read, sql, args)
        return [StoredMessage(r[0], r[1], jsoncodec.loads(r[2])) for r in rows]

    async def get(self, message_id: int) -> StoredMessage | None:
        rows = await asyncio.to_thread(
            self._read, "SELECT id, account, payload FROM messages WHERE id = ?", (message_id,)
        )
        return StoredMessage(rows[0][0], rows[0][1], jsoncodec.loads(rows[0][2])) if rows else None

    async def is_delivered(self, message_id: int) -> bool:
        rows = await asyncio.to_thread(
            self._read, "SELECT delivered_at FROM messages WHERE id = ?", (message_id,)
        )
        return bool(rows) and rows[0][0] is not None

    async def attachment_ids(self, accounts: tuple[str, ...] | None = None) -> list[str]:
        """The attachment ids received by `accounts` (None: by any), sorted."""
        sql = "SELECT DISTINCT id FROM attachments"
        if accounts is not None:
            sql += f" WHERE account IN ({','.join('?' * len(accounts))})"
        rows = await asyncio.to_thread(self._read, sql + " ORDER BY id", accounts or ())
        return [str(r[0]) for r in rows]

    async def attachment_accounts(self, attachment_id: str) -> list[str]:
        """The accounts that received attachment `attachment_id`, first receiver first."""
        rows = await asyncio.to_thread(
            self._read,
            "SELECT account FROM attachments WHERE id = ? ORDER BY seen_at, account",
            (attachment_id,),
        )
        return [str(r[0]) for r in rows]

    async def forget_attachment(self, attachment_id: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM attachments WHERE id = ?", (attachment_id,))

        await self.write(delete)

    async def backlog(self) -> list[tuple[str, int, float]]:
        """Per account with messages no consumer has taken yet: (account, how many, when the
        oldest of them arrived). Read from the pending index, for the metrics."""
        rows = await asyncio.to_thread(
            self._read,
            "SELECT waiting.account, waiting.depth, messages.received_at FROM ("
            " SELECT account, COUNT(*) AS depth, MIN(id) AS first FROM messages"
            " WHERE delivered_at IS NULL GROUP BY account"
            ") AS waiting JOIN messages ON messages.id = waiting.first ORDER BY waiting.account",
            (),
        )
        return [(str(r[0]), int(r[1]), float(r[2])) for r in rows]

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._with_reader(lambda conn: conn.execute(sql, args).fetchall())

    def _with_reader(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._reader is None:
            raise RuntimeError("the inbox is not open")
        with self._read_lock:
            return fn(self._reader)

    def _write_loop(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Future[None]) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        indexed = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'attachments'").fetchone()
        conn.executescript(SCHEMA + attachments.SCHEMA + positions.SCHEMA)
        if conn.execute("PRAGMA user_version").fetchone()[0] < DIGESTS_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            if _rewrite_digests(conn):
                # It rewrote every row: the write-ahead log is as large as the inbox now.
                conn.execute("COMMIT")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"PRAGMA user_version = {DIGESTS_VERSION}")
            conn.execute("COMMIT")
        if indexed is None:
            conn.execute("BEGIN IMMEDIATE")
            attachments.backfill(conn)
            conn.execute("COMMIT")
        loop.call_soon_threadsafe(ready.set_result, None)
        mode = True  # synchronous=FULL
        unsynced = False  # committed without a sync since the last synced commit
        stopping = False
        while not stopping:
            batch = self._next_batch()
            if _STOP in batch:
                stopping = True
                batch = batch[: batch.index(_STOP)]  # nothing is queued after it
            if batch:
                sync = any(write[3] for write in batch)
                if sync != mode:
                    conn.execute("PRAGMA synchronous=" + ("FULL" if sync else "NORMAL"))
                    mode = sync
                if _run_batch(conn, batch):
                    unsynced = not sync
        if unsynced:
            _sync_log(self.path)
        conn.close()

    def _next_batch(self) -> list[Any]:
        """What is queued, up to MAX_BATCH writes (and the stop). Writes that need no sync
        wait up to LAZY_WAIT for one that does and ride along with its commit: a consumer's ack
        then costs no transaction of its own while messages arrive."""
        batch = [self._queue.get()]
        lazy = batch[0] is not _STOP and not batch[0][3]
        deadline = time.monotonic() + LAZY_WAIT
        while len(batch) < MAX_BATCH and batch[-1] is not _STOP:
            try:
                left = deadline - time.monotonic() if lazy else 0.0
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            batch.append(item)
            lazy = lazy and item is not _STOP and not item[3]
        return batch


class _Insert:
    """One message to store: a write like any other (called alone, as when a batch is run
    again one write at a time), and consecutive ones in a batch go into one statement."""

    __slots__ = ("account", "digest", "message", "payload", "received_at")

    def __init__(self, account: str, message: dict[str, Any]) -> None:
        self.account = account
        self.message = message
        # Kept in signal-cli's key order, so a message reads the same from the backlog as
        # live; the digest that spots duplicates ignores the order.
        self.payload = jsoncodec.column(message)
        envelope = message.get("envelope")
        self.digest = _digest(
            envelope.get("timestamp") if isinstance(envelope, dict) else None,
            hashlib.sha256(jsoncodec.dumps(message, sort_keys=True)).digest(),
        )
        self.received_at = time.time()

    def __call__(self, conn: sqlite3.Connection) -> int | None:
        return _insert_run(conn, [self])[0]


def _digest(stamp: Any, content: bytes) -> bytes:
    """What spots a repeated message: its envelope's timestamp `stamp` (0 when it is not an
    integer that fits in 8 bytes), then the first bytes of `content`, the SHA-256 of the message
    with its keys sorted. Identical messages have identical timestamps, so the timestamp changes
    nothing about which messages count as the same; it orders the unique index by arrival, near
    enough."""
    number: int = stamp if type(stamp) is int and 0 <= stamp < 1 << 63 else 0
    return number.to_bytes(8, "big") + content[:_HASH_BYTES]


def _rewrite_digests(conn: sqlite3.Connection) -> int:
    """Give the messages an older signal-rest stored (their digest the whole SHA-256 in hex,
    over the same content) the digests `_digest` makes, so a repeat of one is still spotted.
    How many there were (about 30 s per million, once)."""
    count: int = conn.execute(
        "SELECT COUNT(*) FROM messages WHERE typeof(digest) = 'text'"
    ).fetchone()[0]
    if not count:
        return 0
    log.info("inbox: rewriting the digests of %d stored messages (once)", count)

    def rewritten(stamp: Any, old: str) -> Any:
        try:
            return _digest(stamp, bytes.fromhex(old)) if len(old) == 64 else old
        except ValueError:
            return old

    conn.create_function("signal_rest_digest", 2, rewritten, deterministic=True)
    try:
        # OR IGNORE: two old digests that would meet (their first 16 bytes equal) keep theirs.
        conn.execute(
            "UPDATE OR IGNORE messages SET digest = signal_rest_digest(CASE json_type(payload, "
            "'$.envelope.timestamp') WHEN 'integer' THEN json_extract(payload, "
            "'$.envelope.timestamp') END, digest) WHERE typeof(digest) = 'text'"
        )
    finally:
        conn.create_function("signal_rest_digest", 2, None)
    return count


def _insert_run(conn: sqlite3.Connection, run: list[_Insert]) -> list[int | None]:
    """Store `run` with one INSERT (each row a step of the writer would release and take the
    GIL again, once per message, while the event loop wants it too): each one's new id, or
    None where the very same message is stored already (also earlier in `run`)."""
    sql = "INSERT OR IGNORE INTO messages (account, digest, payload, received_at) VALUES "
    added: dict[tuple[str, bytes], int] = {}
    if len(run) == 1:
        one = run[0]
        cursor = conn.execute(
            sql + "(?, ?, ?, ?)", (one.account, one.digest, one.payload, one.received_at)
        )
        if cursor.rowcount == 1 and cursor.lastrowid is not None:
            added[(one.account, one.digest)] = cursor.lastrowid
    else:
        before = conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0]
        conn.execute(
            sql + ",".join(["(?, ?, ?, ?)"] * len(run)),
            [v for i in run for v in (i.account, i.digest, i.payload, i.received_at)],
        )
        # The new rows, in one step (ids only grow: nothing older is above `before`).
        found = conn.execute(
            "SELECT group_concat(id || char(31) || hex(digest) || char(31) || account, char(30))"
            " FROM messages WHERE id > ?",
            (before,),
        ).fetchone()[0]
        for entry in found.split("\x1e") if found else ():
            message_id, digest, account = entry.split("\x1f", 2)
            added[(account, bytes.fromhex(digest))] = int(message_id)
    ids: list[int | None] = []
    for insert in run:
        message_id = added.pop((insert.account, insert.digest), None)
        ids.append(message_id)
        if message_id is not None and _ATTACHMENT_KEY in insert.payload:
            attachments.record(conn, insert.account, insert.message)  # most have none
    return ids


def _run_writes(conn: sqlite3.Connection, batch: list[Any]) -> list[tuple[bool, Any]]:
    """Each write's result, in order; consecutive messages are inserted together."""
    outcomes: list[tuple[bool, Any]] = []
    at = 0
    while at < len(batch):
        if not isinstance(batch[at][0], _Insert):
            outcomes.append((True, batch[at][0](conn)))
            at += 1
            continue
        end = at
        while end < len(batch) and end - at < MAX_INSERT and isinstance(batch[end][0], _Insert):
            end += 1
        outcomes.extend((True, i) for i in _insert_run(conn, [w[0] for w in batch[at:end]]))
        at = end
    return outcomes


def _sync_log(path: Path) -> None:
    """Sync what was committed without a sync (it is all in the write-ahead log)."""
    with contextlib.suppress(OSError):
        fd = os.open(f"{path}-wal", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _run_batch(conn: sqlite3.Connection, batch: list[Any]) -> bool:
    """Run the writes in one transaction; answer them once it is committed. False when
    nothing could be committed."""
    committed = False
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            outcomes = _run_writes(conn, batch)
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if len(batch) == 1:
                outcomes = [(False, exc)]
            else:
                conn.execute("BEGIN IMMEDIATE")
                outcomes = _one_by_one(conn, batch)
        if conn.in_transaction:
            conn.execute("COMMIT")
            committed = True
    except BaseException as exc:
        # Also when BEGIN itself failed (a read-only or locked database): every caller gets
        # the error and the writer serves the next batch.
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        outcomes = [(False, exc)] * len(batch)
    # One wake-up per event loop for the whole batch, not one per write.
    answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for (_fn, future, future_loop, _sync), (ok, value) in zip(batch, outcomes, strict=True):
        answers.setdefault(future_loop, []).append((future, ok, value))
    for future_loop, settled in answers.items():
        future_loop.call_soon_threadsafe(_settle, settled)
    return committed


def _one_by_one(conn: sqlite3.Connection, batch: list[Any]) -> list[tuple[bool, Any]]:
    """Run each write in a savepoint of its own: one that fails leaves the others in."""
    outcomes: list[tuple[bool, Any]] = []
    for fn, _future, _loop, _sync in batch:
        conn.execute("SAVEPOINT write")
        try:
            outcomes.append((True, fn(conn)))
        except BaseException as exc:
            conn.execute("ROLLBACK TO write")
            outcomes.append((False, exc))
        conn.execute("RELEASE write")
    return outcomes


def _settle(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
