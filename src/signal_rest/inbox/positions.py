"""Where each named consumer stands in the inbox: one row per (consumer, account), in the inbox's
own database and transactions.

`position` is the id of the last message the consumer is done with; message ids grow in commit
order, so what it has not had yet is exactly `id > position`. `account` is "*" for a consumer of
every account. The unnamed clients (the Go project's poll and websocket) share the row named ""
of each account: only its `seen_at` is used, their progress is each message's `delivered_at`.
Webhooks keep their retry state here too, so a restart continues the schedule.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "ALL",
    "PENDING",
    "SCHEMA",
    "UNNAMED",
    "PositionRow",
    "Saved",
    "forget",
    "open_row",
    "purge",
    "retire",
    "rows",
    "save",
    "seen_unnamed",
    "touch",
]

ALL = "*"
UNNAMED = ""
# Reads of pending messages name their index (the inbox's `messages_pending`): SQLite's planner,
# without statistics, takes `messages_by_account` instead and goes through every delivered
# message of the account that retention still keeps (a poll took 260 ms with 700k of them,
# 0.1 ms through the pending index).
PENDING = "INDEXED BY messages_pending"

SCHEMA = """
CREATE TABLE IF NOT EXISTS consumers (
    name TEXT NOT NULL,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    position INTEGER NOT NULL,
    seen_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    retry_at REAL,
    failing_since REAL,
    PRIMARY KEY (name, account)
);
CREATE INDEX IF NOT EXISTS messages_by_account ON messages (account, id);
"""


@dataclass(frozen=True)
class PositionRow:
    name: str
    account: str
    kind: str
    position: int
    seen_at: float
    attempts: int = 0
    retry_at: float | None = None
    failing_since: float | None = None
    lag: int = 0


_COLUMNS = "name, account, kind, position, seen_at, attempts, retry_at, failing_since"
# Messages of the row's account (or of any, for "*").
_MINE = "(c.account = '*' OR m.account = c.account)"


def open_row(
    conn: sqlite3.Connection,
    name: str,
    account: str,
    kind: str,
    now: float,
    start: int | None = None,
) -> PositionRow:
    """The consumer's row, made on first use: a new consumer starts after `start` when given,
    else at what no unnamed client has taken yet (nothing it could have had is skipped), else
    with the next message to arrive."""
    found = conn.execute(
        f"SELECT {_COLUMNS} FROM consumers WHERE name = ? AND account = ?", (name, account)
    ).fetchone()
    if found is not None:
        conn.execute(
            "UPDATE consumers SET kind = ?, seen_at = ? WHERE name = ? AND account = ?",
            (kind, now, name, account),
        )
        return PositionRow(name, account, kind, found[3], now, found[5], found[6], found[7])
    position = start if start is not None else _first_untaken(conn, account)
    conn.execute(
        "INSERT INTO consumers (name, account, kind, position, seen_at) VALUES (?, ?, ?, ?, ?)",
        (name, account, kind, position, now),
    )
    return PositionRow(name, account, kind, position, now)


def _first_untaken(conn: sqlite3.Connection, account: str) -> int:
    """Where a new consumer of `account` starts: before the oldest message no unnamed client
    has taken, else after the newest message."""
    where = "" if account == ALL else "AND account = ?"
    args = () if account == ALL else (account,)
    oldest = conn.execute(
        f"SELECT MIN(id) FROM messages {PENDING} WHERE delivered_at IS NULL {where}", args
    ).fetchone()[0]
    if oldest is not None:
        return int(oldest) - 1
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0])


def touch(conn: sqlite3.Connection, keys: list[tuple[str, str]], now: float) -> None:
    """Mark consumers as seen now (those that still exist)."""
    conn.executemany(
        "UPDATE consumers SET seen_at = ? WHERE name = ? AND account = ?",
        [(now, name, account) for name, account in keys],
    )


def seen_unnamed(conn: sqlite3.Connection, account: str, now: float) -> None:
    """The unnamed clients of `account` were seen now."""
    conn.execute(
        "INSERT INTO consumers (name, account, kind, position, seen_at) "
        "VALUES ('', ?, 'unnamed', 0, ?) "
        "ON CONFLICT (name, account) DO UPDATE SET seen_at = excluded.seen_at",
        (account, now),
    )


def forget(conn: sqlite3.Connection, name: str, accounts: tuple[str, ...] | None) -> int:
    """Drop the named consumer (of `accounts` only, when given); how many rows went."""
    if accounts is None:
        return conn.execute("DELETE FROM consumers WHERE name = ?", (name,)).rowcount
    marks = ",".join("?" * len(accounts))
    return conn.execute(
        f"DELETE FROM consumers WHERE name = ? AND account IN ({marks})", (name, *accounts)
    ).rowcount


class Saved(NamedTuple):
    """What `save` stores of a consumer."""

    position: int
    attempts: int
    retry_at: float | None
    failing_since: float | None
    kind: str


def save(conn: sqlite3.Connection, saved: dict[tuple[str, str], Saved], now: float) -> None:
    """Store consumers' positions (never moving one back) and retry states."""
    conn.executemany(
        "UPDATE consumers SET position = MAX(position, ?), attempts = ?, retry_at = ?, "
        "failing_since = ?, kind = ?, seen_at = ? WHERE name = ? AND account = ?",
        [(*state, now, name, account) for (name, account), state in saved.items()],
    )


def retire(conn: sqlite3.Connection, account: str) -> None:
    """`account` is gone: its named consumers are done with everything it had."""
    conn.execute(
        "UPDATE consumers SET position = MAX(position, "
        "(SELECT COALESCE(MAX(id), 0) FROM messages WHERE account = ?)) WHERE account = ?",
        (account, account),
    )


def rows(conn: sqlite3.Connection) -> list[PositionRow]:
    """Every named consumer with its lag (messages it has not had yet), by name and account."""
    found = conn.execute(
        f"SELECT {', '.join('c.' + c.strip() for c in _COLUMNS.split(','))}, "
        f"(SELECT COUNT(*) FROM messages m WHERE m.id > c.position AND {_MINE}) "
        "FROM consumers c WHERE c.name != '' ORDER BY c.name, c.account"
    ).fetchall()
    return [PositionRow(*row) for row in found]


def purge(conn: sqlite3.Connection, kept_until: float, seen_since: float) -> int:
    """Forget the messages every consumer that wants them is done with, once they are older
    than `kept_until` (taken by an unnamed client before it, or received before it when no
    unnamed client holds them). A consumer not seen since `seen_since` holds nothing back. The
    unnamed clients hold an account's pending messages when they were seen since then, or were
    never seen and no named consumer reads the account (the inbox before named consumers)."""
    cursor = conn.execute(
        f"""
        DELETE FROM messages AS m
        WHERE COALESCE(m.delivered_at, m.received_at) < :kept_until
        AND (
            m.delivered_at IS NOT NULL
            OR NOT EXISTS (
                SELECT 1 FROM consumers c WHERE c.name = '' AND c.account = m.account
                AND c.seen_at >= :seen_since
            ) AND EXISTS (SELECT 1 FROM consumers c WHERE {_MINE})
        )
        AND NOT EXISTS (
            SELECT 1 FROM consumers c WHERE c.name != '' AND {_MINE}
            AND c.position < m.id AND c.seen_at >= :seen_since
        )
        """,
        {"kept_until": kept_until, "seen_since": seen_since},
    )
    return cursor.rowcount
