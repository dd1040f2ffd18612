"""The sandbox network's persistent state: one SQLite file in the data dir.

Everything the simulated network knows lives here so a restarted daemon continues where it
stopped: numbers and their settings, local accounts and devices, pending verification codes,
groups, undelivered messages of local accounts and the inboxes of outside users, usernames
(and which usernames each sender has looked up), profiles, identity keys and what each
account trusts, each number's contacts, who may be found by number, which accounts the server
rate-limits until they solve a captcha, the local data of unregistered accounts, new devices
waiting to be linked and the inboxes of outside linked devices. All access happens on the
event loop thread; statements are tiny, so they run inline.

Reads are remembered: this process is the file's only writer, so what `one` and `all` read
stays true until a statement writes to one of the tables it read (or a transaction is rolled
back), and a send asks the same few questions (is the account local, the recipient's uuid and
key, the sender's profile, …) dozens of times. The growing message tables are read once each
and not remembered; but a message this process queued is kept in memory until it leaves the
queue, so handing it over costs no read and parse of what was just written (the file still
says which messages are queued).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from signal_rest import jsoncodec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS numbers (
    number TEXT PRIMARY KEY, uuid TEXT UNIQUE NOT NULL,
    registered INTEGER NOT NULL DEFAULT 1, requires_captcha INTEGER NOT NULL DEFAULT 0,
    pin TEXT, pin_tries INTEGER NOT NULL DEFAULT 10);
CREATE TABLE IF NOT EXISTS accounts (
    number TEXT PRIMARY KEY, device_id INTEGER NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    number TEXT NOT NULL, device_id INTEGER NOT NULL, name TEXT, created INTEGER NOT NULL,
    PRIMARY KEY (number, device_id));
CREATE TABLE IF NOT EXISTS codes (
    number TEXT PRIMARY KEY, code TEXT NOT NULL, transport TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sticker_packs (
    pack_id TEXT PRIMARY KEY, pack_key TEXT NOT NULL, manifest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sticker_views (
    number TEXT NOT NULL, pack_id TEXT NOT NULL, installed INTEGER NOT NULL,
    PRIMARY KEY (number, pack_id));
CREATE TABLE IF NOT EXISTS groups (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS group_views (
    account TEXT NOT NULL, group_id TEXT NOT NULL, PRIMARY KEY (account, group_id));
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS received (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocked (
    account TEXT NOT NULL, target TEXT NOT NULL, PRIMARY KEY (account, target));
CREATE TABLE IF NOT EXISTS usernames (
    number TEXT PRIMARY KEY, username TEXT NOT NULL, folded TEXT UNIQUE NOT NULL,
    link TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS known_usernames (
    account TEXT NOT NULL, number TEXT NOT NULL, username TEXT NOT NULL,
    PRIMARY KEY (account, number));
CREATE TABLE IF NOT EXISTS profiles (
    number TEXT PRIMARY KEY, given_name TEXT, family_name TEXT, about TEXT, about_emoji TEXT,
    avatar BLOB, updated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS identity_keys (number TEXT PRIMARY KEY, key BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS identities (
    account TEXT NOT NULL, number TEXT NOT NULL, key BLOB NOT NULL, trust TEXT NOT NULL,
    added INTEGER NOT NULL, PRIMARY KEY (account, number));
CREATE TABLE IF NOT EXISTS trust_modes (account TEXT PRIMARY KEY, mode TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (
    account TEXT NOT NULL, number TEXT NOT NULL, given_name TEXT, family_name TEXT,
    nick_given_name TEXT, nick_family_name TEXT, note TEXT,
    expiration INTEGER NOT NULL DEFAULT 0, profile_sharing INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, number));
CREATE TABLE IF NOT EXISTS discovery (
    number TEXT PRIMARY KEY, discoverable INTEGER NOT NULL DEFAULT 1,
    number_sharing INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS rate_limits (
    number TEXT PRIMARY KEY, token TEXT NOT NULL, retry_after INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dormant_accounts (
    number TEXT PRIMARY KEY, device_id INTEGER NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS device_offers (uuid TEXT PRIMARY KEY, name TEXT);
CREATE TABLE IF NOT EXISTS device_inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL, device_id INTEGER NOT NULL,
    message TEXT NOT NULL);
"""


# The schema's tables; the tables a statement reads from (after FROM or JOIN), and the table
# one writes (None: not a plain write).
_TABLES = frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", _SCHEMA))
_WORDS = re.compile(r"\w+")
_READS = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)", re.IGNORECASE)
_WRITES = re.compile(
    r"^\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)"
    r"\s+(\w+)",
    re.IGNORECASE,
)
# Tables that grow with every message and whose rows are read about once: not remembered.
_UNREMEMBERED = frozenset({"queue", "received", "device_inbox"})
_REMEMBERED_PER_STATEMENT = 4096  # answers kept per SELECT text before it starts over
_FRESH_LIMIT = 4096  # queued messages kept in memory too (beyond: read back from the file)


class _Transaction:
    """Store.transaction's context manager (a class: a send enters a dozen of them, and a
    generator-based one cost more than the statements it guarded)."""

    __slots__ = ("how", "store")

    def __init__(self, store: Store) -> None:
        self.store = store
        self.how = ""  # "nested", "savepoint" (within the loop's batch) or "alone"

    def __enter__(self) -> None:
        store = self.store
        if store._depth:
            self.how = "nested"
        elif store._batch_open or store._open_batch():
            self.how = "savepoint"
            store._db.execute("SAVEPOINT tx")
        else:
            self.how = "alone"  # no loop (a script, a test): it commits at once
            store._db.execute("BEGIN IMMEDIATE")
        store._depth += 1

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        store = self.store
        store._depth -= 1
        if self.how == "nested":
            return
        db = store._db
        if kind is None:
            db.execute("RELEASE tx" if self.how == "savepoint" else "COMMIT")
            return
        if self.how == "savepoint":
            db.execute("ROLLBACK TO tx")
            db.execute("RELEASE tx")
        else:
            db.execute("ROLLBACK")
        store.forget()


# The argument types of a remembered read: no numbers (1, 1.0 and True are one key to Python,
# three values to SQLite); none of these equals a number, so a read with one is never taken
# for a remembered one.
_KEYS = frozenset({str, bytes, type(None)})


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # No sync to disk: the state survives a killed process, not a machine crash. A sync
        # on each WAL checkpoint stalled the event loop for milliseconds every few hundred
        # messages, the largest part of the latency tail of everything measured against it.
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.executescript(_SCHEMA)
        self._depth = 0
        self._batch_open = False
        # SELECT text -> args -> answer, and table -> the SELECT texts that read it.
        self._answers: dict[str, dict[tuple[Any, ...], Any]] = {}
        self._readers: dict[str, list[str]] = {}
        self._written: dict[str, str | None] = {}  # statement text -> the table it writes
        self._meta_at_commit: dict[str, str] = {}  # set_meta_at_commit's, until the commit
        self._fresh: dict[int, dict[str, Any]] = {}  # seq -> message queued by this process

    def close(self) -> None:
        self.flush()
        self._db.close()

    def transaction(self) -> _Transaction:
        """All or nothing. Nested use joins the outer transaction, so a whole send is one.

        On an event loop, transactions share one commit per turn of the loop: the first opens
        the batch and asks the loop to commit it soon, each is a savepoint within it (one
        that fails takes only its own writes back). Whatever leaves the sandbox (an answer,
        a notification) calls `flush` first, so nothing is told before it is committed."""
        return _Transaction(self)

    def _open_batch(self) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False  # no loop (a script, a test): each transaction commits at once
        self._db.execute("BEGIN IMMEDIATE")
        self._batch_open = True
        loop.call_soon(self.flush)
        return True

    def flush(self) -> None:
        """Commit the open batch, if any (not from inside a transaction)."""
        if self._batch_open and not self._depth:
            self._batch_open = False
            try:
                for key, value in self._meta_at_commit.items():
                    # An UPDATE leaves the key's index alone: one page less for the commit to
                    # write than INSERT OR REPLACE, which deletes and inserts the row.
                    if not self.run("UPDATE meta SET value = ? WHERE key = ?", value, key):
                        self.set_meta(key, value)
                self._meta_at_commit.clear()
                self._db.execute("COMMIT")
            except BaseException:
                self.forget()
                raise

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        answers = self._answers.get(sql)
        if answers is not None:
            try:
                row: sqlite3.Row | None = answers[args]
                return row
            except (KeyError, TypeError):  # not read yet, or no key (SQLite says what is wrong)
                pass
        row = self._db.execute(sql, args).fetchone()
        self._remember(sql, args, row)
        return row

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        answers = self._answers.get(sql)
        if answers is not None:
            try:
                return list(answers[args])
            except (KeyError, TypeError):
                pass
        rows = self._db.execute(sql, args).fetchall()
        self._remember(sql, args, tuple(rows))
        return list(rows)

    def run(self, sql: str, *args: Any) -> int:
        """A statement that writes (what it read before about the table is forgotten)."""
        self._forget_written(sql)
        return self._db.execute(sql, args).rowcount

    def run_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self._forget_written(sql)
        self._db.executemany(sql, rows)

    def _remember(self, sql: str, args: tuple[Any, ...], answer: Any) -> None:
        if not all(type(arg) in _KEYS for arg in args):
            return
        answers = self._answers.get(sql)
        if answers is None:
            # Every table the statement names counts as read (a comma join, a subquery): a
            # word that only looks like one makes the store forget the answers more often.
            tables = {word for word in _WORDS.findall(sql.lower()) if word in _TABLES}
            sources = {table.lower() for table in _READS.findall(sql)}
            if not sources or not sources <= _TABLES or tables & _UNREMEMBERED:
                return  # not from the schema's tables (sqlite_master, …), or a message table
            answers = self._answers[sql] = {}
            for table in tables:
                self._readers.setdefault(table, []).append(sql)
        elif len(answers) >= _REMEMBERED_PER_STATEMENT:
            answers.clear()
        answers[args] = answer

    def _forget_written(self, sql: str) -> None:
        if sql in self._written:
            table = self._written[sql]
        else:
            match = _WRITES.match(sql)
            table = self._written[sql] = None if match is None else match.group(1).lower()
        if table is None:
            self.forget()  # not a plain INSERT, UPDATE or DELETE: it may change anything
        elif table == "queue":
            self._fresh.clear()  # not enqueue() or dequeue(): the file says again
        elif table not in _UNREMEMBERED:
            for reader in self._readers.get(table, ()):
                self._answers[reader].clear()

    def forget(self) -> None:
        """Forget every read (after a rollback, or a statement that may change anything)."""
        for answers in self._answers.values():
            answers.clear()
        self._fresh.clear()

    # meta
    def meta(self, key: str) -> str | None:
        if key in self._meta_at_commit:
            return self._meta_at_commit[key]
        row = self.one("SELECT value FROM meta WHERE key = ?", key)
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self.run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value)

    def set_meta_at_commit(self, key: str, value: str) -> None:
        """set_meta, written once as the loop's batch commits (at once without a batch), for
        a value that changes with every message. It stays when a transaction fails."""
        if self._batch_open:
            self._meta_at_commit[key] = value
        else:
            self.set_meta(key, value)

    # message queues: `queue` holds undelivered messages of local accounts, `received` the
    # permanent inbox of outside users.
    def enqueue(self, number: str, message: dict[str, Any]) -> None:
        text = jsoncodec.column(message)
        seq = self._db.execute(
            "INSERT INTO queue (number, message) VALUES (?, ?)", (number, text)
        ).lastrowid
        if seq is not None and len(self._fresh) < _FRESH_LIMIT:
            # Its reader stamps the envelope's delivery time, nothing else: a copy of the two
            # outer levels keeps the message as it was queued.
            kept = dict(message)
            if isinstance(kept.get("envelope"), dict):
                kept["envelope"] = dict(kept["envelope"])
            self._fresh[seq] = kept

    def queued(
        self, number: str, limit: int = -1, *, after: int = 0
    ) -> list[tuple[int, dict[str, Any]]]:
        """Messages queued for `number` (with seq above `after`), oldest first. The file says
        which; those queued since the process started come from memory, not read and parsed
        back (the next reader of a queued message is most often the loop's next turn)."""
        args = (number, after, limit)
        seqs = self._db.execute(
            "SELECT seq FROM queue WHERE number = ? AND seq > ? ORDER BY seq LIMIT ?", args
        ).fetchall()
        fresh = self._fresh
        if all(seq in fresh for (seq,) in seqs):
            return [(seq, fresh[seq]) for (seq,) in seqs]
        rows = self._db.execute(
            "SELECT seq, message FROM queue WHERE number = ? AND seq > ? ORDER BY seq LIMIT ?",
            args,
        ).fetchall()
        return [(int(r["seq"]), jsoncodec.loads(r["message"])) for r in rows]

    def dequeue(self, seqs: list[int]) -> None:
        self._db.executemany("DELETE FROM queue WHERE seq = ?", [(s,) for s in seqs])
        for seq in seqs:
            self._fresh.pop(seq, None)

    def add_received(self, number: str, message: dict[str, Any]) -> None:
        self.run(
            "INSERT INTO received (number, message) VALUES (?, ?)",
            number,
            jsoncodec.column(message),
        )

    def received(self, number: str) -> list[dict[str, Any]]:
        rows = self.all("SELECT message FROM received WHERE number = ? ORDER BY seq", number)
        return [jsoncodec.loads(r["message"]) for r in rows]

    # groups are JSON documents; the network owns their shape (see groups.py)
    def group(self, group_id: str) -> dict[str, Any] | None:
        row = self.one("SELECT data FROM groups WHERE id = ?", group_id)
        return None if row is None else dict(jsoncodec.loads(row["data"]))

    def save_group(self, group_id: str, data: dict[str, Any]) -> None:
        self.run(
            "INSERT OR REPLACE INTO groups (id, data) VALUES (?, ?)",
            group_id,
            jsoncodec.column(data),
        )

    def group_ids_for(self, account: str) -> list[str]:
        rows = self.all(
            "SELECT group_id FROM group_views WHERE account = ? ORDER BY rowid", account
        )
        return [str(r["group_id"]) for r in rows]

    def show_group(self, account: str, group_id: str) -> None:
        self.run(
            "INSERT OR IGNORE INTO group_views (account, group_id) VALUES (?, ?)", account, group_id
        )

    def forget_group(self, account: str, group_id: str) -> None:
        self.run("DELETE FROM group_views WHERE account = ? AND group_id = ?", account, group_id)
