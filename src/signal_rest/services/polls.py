"""Polls: create, vote and end them (signal-cli 0.14's sendPollCreate, sendPollVote and
sendPollTerminate), to one person, a username or a group.

Each re-vote must carry a higher `voteCount` than the voter's last one, or receiving apps ignore
it. The REST body has no such field (the Go project always sends 1, so only a first vote counts);
here every vote of an account on a poll takes the next number of a counter kept in the inbox
database, so changing a vote works and survives restarts.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from signal_rest.backend import Backend
from signal_rest.domain.sending import SendTarget
from signal_rest.services.sending import send_all
from signal_rest.services.versions import needs_newer

__all__ = ["create_poll", "end_poll", "vote_in_poll"]

_VOTES = """
CREATE TABLE IF NOT EXISTS poll_votes (
    account TEXT NOT NULL,
    poll_author TEXT NOT NULL,
    poll_timestamp INTEGER NOT NULL,
    vote_count INTEGER NOT NULL,
    PRIMARY KEY (account, poll_author, poll_timestamp)
)
"""


async def _send(
    backend: Backend, method: str, params: dict[str, Any], target: SendTarget, account: str
) -> dict[str, Any]:
    async with needs_newer(backend, "polls"):
        [entry] = await send_all(
            backend.rpc, method, {**params, "account": account}, [target], account=account
        )
    return entry


async def create_poll(
    backend: Backend,
    account: str,
    target: SendTarget,
    *,
    question: str,
    answers: list[str],
    allow_multiple: bool,
) -> dict[str, Any]:
    """Send a poll; the `{"timestamp": …}` entry (plus `errors`) of the send."""
    params = {"question": question, "option": answers, "noMulti": not allow_multiple}
    return await _send(backend, "sendPollCreate", params, target, account)


async def _next_vote_count(backend: Backend, account: str, author: str, poll_ts: int) -> int:
    def bump(conn: sqlite3.Connection) -> int:
        conn.execute(_VOTES)
        row = conn.execute(
            "INSERT INTO poll_votes VALUES (?, ?, ?, 1) "
            "ON CONFLICT (account, poll_author, poll_timestamp) "
            "DO UPDATE SET vote_count = vote_count + 1 RETURNING vote_count",
            (account, author, poll_ts),
        ).fetchone()
        return int(row[0])

    return await backend.inbox.store.write(bump)


async def vote_in_poll(
    backend: Backend,
    account: str,
    target: SendTarget,
    *,
    poll_author: str,
    poll_timestamp: int,
    options: list[int],
) -> None:
    """Vote for the 0-based `options` of the poll `poll_author` sent at `poll_timestamp`."""
    count = await _next_vote_count(backend, account, poll_author, poll_timestamp)
    params = {
        "pollAuthor": poll_author,
        "pollTimestamp": poll_timestamp,
        "option": options,
        "voteCount": count,
    }
    await _send(backend, "sendPollVote", params, target, account)


async def end_poll(backend: Backend, account: str, target: SendTarget, poll_timestamp: int) -> None:
    """Close the poll this account sent at `poll_timestamp`: no more votes are counted."""
    await _send(backend, "sendPollTerminate", {"pollTimestamp": poll_timestamp}, target, account)
