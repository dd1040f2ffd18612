"""Which account received which attachment id: kept beside the inbox, longer than the messages.

The routes under `/v1/attachments` have no account in their path. This index says which
attachments a token limited to some accounts may see, and is the attachment list when signal-cli
runs elsewhere and its folder cannot be read. Rows are written in the inbox's own transactions
(`record`); deleting an attachment forgets its rows.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from signal_rest.domain.attachment_ids import referenced_ids

__all__ = ["SCHEMA", "backfill", "record"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS attachments (
    id TEXT NOT NULL,
    account TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (id, account)
);
"""


def record(conn: sqlite3.Connection, account: str, message: dict[str, Any]) -> None:
    """Note the attachment ids `message` (received by `account`) refers to."""
    now = time.time()
    conn.executemany(
        "INSERT OR IGNORE INTO attachments (id, account, seen_at) VALUES (?, ?, ?)",
        [(ident, account, now) for ident in referenced_ids(message)],
    )


def backfill(conn: sqlite3.Connection) -> None:
    """Index the messages an inbox made before the index existed still holds."""
    for account, payload in conn.execute("SELECT account, payload FROM messages ORDER BY id"):
        record(conn, account, json.loads(payload))
