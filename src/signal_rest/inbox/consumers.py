"""Named consumers: each reads every message of an account in arrival order, on its own.

    consumers = Consumers(store)                      # Inbox makes one: inbox.consumers
    cursor = await consumers.open("ha", "+4915…", kind="websocket")
    messages = await cursor.next(limit=100, timeout=15.0)   # what it has not had yet, oldest first
    ...                                               # hand them out; once the client has them:
    await cursor.ack(messages[-1].id)                 # stored: a reconnect resumes after it
    cursor.rewind()                                   # or hand out again what was not acked

A consumer's position is stored per account in the inbox's database (`positions`), so it
survives restarts, and messages are kept until every consumer that wants them has them (see
`positions.purge`). Positions are committed without waiting for a sync to disk (`InboxStore`):
a machine crash may set one back a little, so messages come again, never skipped.

Consumers don't claim messages from each other: a message reaches every named consumer of its
account, and the unnamed clients of the Go project's API (which share the messages among
themselves, see `delivery`) as well.

A new consumer starts with what no unnamed client has taken yet. `open(None, …)` gives a cursor
that is not stored and holds nothing back: it starts at `after` or with the next new message.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from signal_rest.inbox import positions
from signal_rest.inbox.positions import ALL, UNNAMED
from signal_rest.inbox.store import InboxStore, StoredMessage

__all__ = ["ALL", "UNNAMED", "ConsumerState", "Consumers", "Cursor"]

log = logging.getLogger(__name__)

# Recent messages kept in memory for the consumers that keep up (between this and twice it).
RECENT = 1024
# How often a consumer that is connected is marked as seen, at most.
SEEN_INTERVAL = 60.0


@dataclass(frozen=True)
class ConsumerState:
    """A named consumer as `GET /v1/consumers` and the metrics show it."""

    name: str
    account: str
    kind: str
    position: int
    lag: int
    seen_at: float
    stale: bool
    connected: bool


class Cursor:
    """One consumer's place in one account's messages (or every account's, for "*")."""

    def __init__(
        self,
        consumers: Consumers,
        name: str | None,
        account: str,
        kind: str,
        row: positions.PositionRow,
    ) -> None:
        self._consumers = consumers
        self.name = name
        self.account = account
        self.kind = kind
        self.position: int = row.position  # done with everything up to here (stored)
        self.read_position: int = row.position  # handed out everything up to here
        self.attempts: int = row.attempts
        self.retry_at: float | None = row.retry_at
        self.failing_since: float | None = row.failing_since

    async def next(
        self,
        limit: int | None = None,
        *,
        timeout: float | None = None,
        gone: asyncio.Future[Any] | None = None,
    ) -> list[StoredMessage]:
        """The messages after `read_position`, oldest first, at most `limit`; waits up to
        `timeout` seconds (None: as long as it takes) for the first. [] when the time is up or
        `gone` is done first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            arrived = self._consumers._arrival(self.account)  # before reading: none is missed
            found = self._consumers._recent_after(self.account, self.read_position, limit)
            if found is None:
                found = await self._consumers.store.after(self.account, self.read_position, limit)
            if found:
                self.read_position = found[-1].id
                return found
            left = None if deadline is None else deadline - loop.time()
            if (left is not None and left <= 0) or (gone is not None and gone.done()):
                return []
            waits: set[asyncio.Future[Any]] = {arrived} if gone is None else {arrived, gone}
            await asyncio.wait(waits, timeout=left, return_when=asyncio.FIRST_COMPLETED)

    async def ack(self, message_id: int, *, sync: bool = False) -> None:
        """The consumer is done with everything up to `message_id` (never past the newest
        message: that would skip the next ones). Stored soon after, in one transaction with
        the acks of other consumers meanwhile: after a crash it may be a little behind, so a
        message is delivered again, never skipped. `sync=True` for a consumer that must not
        get a message again even after a machine crash (at most once): then the position is
        synced to disk with the next commit."""
        if message_id <= self.position:
            return
        message_id = min(message_id, await self._consumers.newest())
        if message_id <= self.position:
            return
        self.position = message_id
        self.read_position = max(self.read_position, message_id)
        self.attempts, self.retry_at, self.failing_since = 0, None, None
        self._consumers._save(self, sync=sync)

    def rewind(self) -> None:
        """Hand out again, from the next `next`, what was handed out and not acked."""
        self.read_position = self.position

    async def record_failure(
        self, attempts: int, retry_at: float | None, failing_since: float | None
    ) -> None:
        """A delivery failed (webhooks): keep when to try again, across restarts."""
        self.attempts, self.retry_at, self.failing_since = attempts, retry_at, failing_since
        self._consumers._save(self)
        await self._consumers.flush()


class Consumers:
    def __init__(self, store: InboxStore) -> None:
        self.store = store
        self._arrivals: dict[str, asyncio.Future[None]] = {}
        self._listeners: list[Callable[[StoredMessage], None]] = []
        self._open: defaultdict[tuple[str, str], int] = defaultdict(int)  # connected cursors
        self._seen: dict[str, float] = {}  # unnamed clients: account -> last stored seen_at
        self._locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._newest: int | None = None  # the newest message id, once read
        # Named consumers opened since the start, as stored once `_unsaved` is written.
        self._known: dict[tuple[str, str], positions.Saved] = {}
        self._unsaved: dict[tuple[str, str], positions.Saved] = {}
        self._unsaved_sync = False  # one of `_unsaved` is to be synced to disk
        self._saving: asyncio.Future[None] | None = None
        # Every message committed since the start, newest last (the oldest are dropped in
        # chunks): live consumers read them from here instead of from the disk.
        self._recent: list[StoredMessage] = []
        self._recent_ids: list[int] = []

    async def open(
        self,
        name: str | None,
        account: str,
        *,
        kind: str,
        after: int | None = None,
        start: int | None = None,
    ) -> Cursor:
        """The consumer `name` of `account` ("*": every account), made on first use (then
        its position is `start` when given). Reading starts after `after` when given (a client
        that says what it has), else at the position. `name=None`: a cursor nobody waits for,
        at `after` or the newest message."""
        if name is None:
            position = await self.newest() if after is None else after
            row = positions.PositionRow(UNNAMED, account, kind, position, time.time())
            cursor = Cursor(self, None, account, kind, row)
        elif (name, account) in self._known:
            known = self._known[(name, account)]
            row = positions.PositionRow(
                name,
                account,
                kind,
                known.position,
                time.time(),
                known.attempts,
                known.retry_at,
                known.failing_since,
            )
            cursor = Cursor(self, name, account, kind, row)
            self._save(cursor)  # seen now
        else:
            row = await self.store.write(
                lambda conn: positions.open_row(conn, name, account, kind, time.time(), start)
            )
            cursor = Cursor(self, name, account, kind, row)
            self._known[(name, account)] = self._saved(cursor)
        if after is not None:
            cursor.read_position = after
        return cursor

    @contextlib.asynccontextmanager
    async def connected(
        self,
        name: str,
        account: str,
        *,
        kind: str,
        after: int | None = None,
        start: int | None = None,
    ) -> AsyncIterator[Cursor]:
        """`open`, for a client that stays connected: shown as connected meanwhile and marked
        as seen while it is (so it never counts as gone), and once more when it leaves."""
        cursor = await self.open(name, account, kind=kind, after=after, start=start)
        key = (name, account)
        self._open[key] += 1
        try:
            yield cursor
        finally:
            self._open[key] -= 1
            if not self._open[key]:
                del self._open[key]
            with contextlib.suppress(Exception):
                await self.store.write(
                    lambda conn: positions.touch(conn, [key], time.time()), sync=False
                )

    def exclusive(self, name: str, account: str) -> asyncio.Lock:
        """A lock for the clients of one consumer that must take turns (polls of one name)."""
        return self._locks[(name, account)]

    async def seen_unnamed(self, account: str) -> None:
        """An unnamed client (the Go project's poll or websocket) read `account`: while such
        clients keep coming, the account's pending messages are kept for them."""
        now = time.time()
        if now - self._seen.get(account, 0.0) < SEEN_INTERVAL:
            return
        self._seen[account] = now
        await self.store.write(lambda conn: positions.seen_unnamed(conn, account, now), sync=False)

    async def keep_seen(self) -> None:
        """Mark every connected consumer as seen now (called periodically)."""
        keys = list(self._open)
        if keys:
            now = time.time()
            await self.store.write(lambda conn: positions.touch(conn, keys, now), sync=False)

    async def forget_old(self, *, retention: float, expiry: float) -> int:
        """Forget the messages every consumer that wants them is done with, `retention`
        seconds after; consumers not seen for `expiry` seconds hold nothing back. How many
        were forgotten."""
        await self.keep_seen()
        await self.flush()
        now = time.time()
        return await self.store.purge(now - retention, now - expiry)

    async def forget(self, name: str, accounts: tuple[str, ...] | None = None) -> int:
        """Drop the named consumer (of `accounts` only, when given): it holds nothing back any
        more, and if it comes again it starts anew. How many of its rows went."""
        for key in [k for k in self._known if k[0] == name]:
            if accounts is None or key[1] in accounts:
                del self._known[key]
                self._unsaved.pop(key, None)
        return await self.store.write(lambda conn: positions.forget(conn, name, accounts))

    async def retire(self, account: str) -> None:
        """`account`'s local data is gone: nothing it had is handed out any more, to unnamed
        clients or named consumers."""
        await self.flush()
        for key in [k for k in self._known if k[1] == account]:
            del self._known[key]
        await self.store.retire(account)

    def listen(self, callback: Callable[[StoredMessage], None]) -> Callable[[], None]:
        """Call `callback` with every message stored from now on; returns the unsubscribe."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    async def accounts(self) -> list[str]:
        return await self.store.accounts()

    async def states(self, *, stale_after: float) -> list[ConsumerState]:
        """Every named consumer; `stale` when not seen for `stale_after` seconds (then it
        holds no messages back)."""
        await self.flush()
        now = time.time()
        return [
            ConsumerState(
                name=row.name,
                account=row.account,
                kind=row.kind,
                position=row.position,
                lag=row.lag,
                seen_at=row.seen_at,
                stale=(row.name, row.account) not in self._open and now - row.seen_at > stale_after,
                connected=(row.name, row.account) in self._open,
            )
            for row in await self.store.positions()
        ]

    async def newest(self) -> int:
        """The id of the newest message stored."""
        if self._newest is None:
            self._newest = await self.store.newest()
        return self._newest

    async def flush(self) -> None:
        """Until every position acked so far is stored."""
        while self._saving is not None and not self._saving.done():
            await asyncio.shield(self._saving)

    @staticmethod
    def _saved(cursor: Cursor) -> positions.Saved:
        return positions.Saved(
            cursor.position, cursor.attempts, cursor.retry_at, cursor.failing_since, cursor.kind
        )

    def _save(self, cursor: Cursor, *, sync: bool = False) -> None:
        if cursor.name is None:
            return
        key = (cursor.name, cursor.account)
        saved = self._saved(cursor)
        known = self._known.get(key)
        if known is not None and known.position > saved.position:
            saved = saved._replace(position=known.position)  # another cursor of it got further
        self._known[key] = self._unsaved[key] = saved
        self._unsaved_sync |= sync
        if self._saving is None or self._saving.done():
            self._saving = asyncio.ensure_future(self._store_positions())

    async def _store_positions(self) -> None:
        # One transaction at a time, for whatever was acked while the last one ran. Not synced
        # to disk by itself (a machine crash may mean a redelivery) unless an ack asked for it:
        # a sync for every ack doubled the syncs per message with a consumer that acks each.
        while self._unsaved:
            batch, self._unsaved = self._unsaved, {}
            sync, self._unsaved_sync = self._unsaved_sync, False
            try:
                await self.store.write(
                    functools.partial(positions.save, saved=batch, now=time.time()), sync=sync
                )
            except Exception:
                log.exception("could not store the positions of %d consumers", len(batch))

    def notify(self, stored: StoredMessage) -> None:
        """A new message is on disk: wake the cursors of its account and of every account."""
        if self._newest is None or stored.id > self._newest:
            self._newest = stored.id
        self._recent.append(stored)
        self._recent_ids.append(stored.id)
        if len(self._recent) > 2 * RECENT:
            del self._recent[:RECENT], self._recent_ids[:RECENT]
        for key in (stored.account, ALL):
            arrival = self._arrivals.pop(key, None)
            if arrival is not None and not arrival.done():
                arrival.set_result(None)
        for callback in list(self._listeners):
            callback(stored)

    def _recent_after(
        self, account: str, position: int, limit: int | None
    ) -> list[StoredMessage] | None:
        """The messages of `account` after `position` when all of them are in memory (None
        when some may be older: read them from the disk)."""
        if not self._recent_ids or position < self._recent_ids[0] - 1:
            return None
        found: list[StoredMessage] = []
        for stored in self._recent[bisect.bisect_right(self._recent_ids, position) :]:
            if account in (ALL, stored.account):
                found.append(stored)
                if limit and len(found) >= limit:
                    break
        return found

    def _arrival(self, account: str) -> asyncio.Future[None]:
        arrival = self._arrivals.get(account)
        if arrival is None or arrival.done():
            arrival = self._arrivals[account] = asyncio.get_running_loop().create_future()
        return arrival
