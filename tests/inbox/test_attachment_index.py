"""The inbox's attachment index: which account received which attachment id."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from signal_rest.inbox.store import InboxStore

ALICE = "+4915100000001"
BOB = "+4915100000002"


def attachment(ident: str) -> dict[str, Any]:
    return {
        "contentType": "image/png",
        "filename": None,
        "id": ident,
        "size": 3,
        "width": None,
        "height": None,
        "caption": None,
        "uploadTimestamp": 1,
    }


def with_files(account: str, ts: int, *ids: str) -> dict[str, Any]:
    data = {"timestamp": ts, "message": None, "attachments": [attachment(i) for i in ids]}
    return {"envelope": {"timestamp": ts, "dataMessage": data}, "account": account}


async def test_index_holds_the_ids_each_account_received(tmp_path: Path) -> None:
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.open()
    try:
        await store.add(ALICE, with_files(ALICE, 1, "b.png", "a.jpg"))
        await store.add(BOB, with_files(BOB, 2, "a.jpg"))
        quote = {"id": 1, "attachments": [{"contentType": "image/png", "thumbnail": None}]}
        preview = {"url": "https://x", "image": attachment("p.png")}
        await store.add(
            BOB,
            {
                "envelope": {
                    "timestamp": 3,
                    "syncMessage": {"sentMessage": {"quote": quote, "previews": [preview]}},
                },
                "account": BOB,
            },
        )
        # Not JsonAttachments, or names that could leave the folder: never indexed.
        await store.add(ALICE, {"envelope": {"timestamp": 4, "x": {"id": "../../etc/passwd"}}})
        await store.add(ALICE, with_files(ALICE, 5, "../up.png", ".hidden"))

        assert await store.attachment_ids() == ["a.jpg", "b.png", "p.png"]
        assert await store.attachment_ids((ALICE,)) == ["a.jpg", "b.png"]
        assert await store.attachment_ids((BOB,)) == ["a.jpg", "p.png"]
        assert await store.attachment_accounts("a.jpg") == [ALICE, BOB]
        await store.forget_attachment("a.jpg")
        assert await store.attachment_ids() == ["b.png", "p.png"]
        assert await store.attachment_accounts("a.jpg") == []
    finally:
        await store.close()


async def test_index_outlives_purged_messages(tmp_path: Path) -> None:
    store = InboxStore(tmp_path / "inbox.sqlite3")
    await store.open()
    try:
        taken = await store.add(ALICE, with_files(ALICE, 1, "kept.png"))
        assert taken is not None
        await store.mark_delivered([taken])
        assert await store.purge(float("inf"), seen_since=0.0) == 1
        assert await store.attachment_ids((ALICE,)) == ["kept.png"]
    finally:
        await store.close()


async def test_an_inbox_made_before_the_index_is_indexed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite3"
    store = InboxStore(path)
    await store.open()
    await store.add(ALICE, with_files(ALICE, 1, "old.png"))
    await store.close()
    with sqlite3.connect(path) as conn:  # as an older signal-rest left it
        conn.execute("DROP TABLE attachments")
        assert json.loads(conn.execute("SELECT payload FROM messages").fetchone()[0])

    reopened = InboxStore(path)
    await reopened.open()
    try:
        assert await reopened.attachment_accounts("old.png") == [ALICE]
    finally:
        await reopened.close()
