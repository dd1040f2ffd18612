"""From the daemon's `receive` notifications to the consumers: store first, then hand out.

    inbox = Inbox(store)
    client = RpcClient(transport, on_notification=inbox.on_notification)
    client.add_connect_hook(inbox.subscriber(client))   # subscribeReceive on every (re)connect

    batch = await inbox.poll("+4915…", limit=None, timeout=1.0, gone=disconnected)   # REST
    ...                                       # send batch.messages; if the client got them:
    await batch.delivered()                   # else: batch.release()

    with inbox.stream("+4915…", bound=500) as stream:   # a websocket
        stored = await stream.get()           # the backlog first, then each new message
        ...                                   # send it; once the client has read it:
        await stream.delivered([stored])

Every message is on disk before a consumer sees it, and it stays pending until a consumer has
delivered it. In between it is *claimed* (in memory) by the consumer that has it in hand, and no
other consumer takes it; a consumer that cannot deliver releases it and it is pending again,
for the next poll and for the account's open websockets (before the newer messages they have
not sent yet).
Claims are not stored: after a crash a message is simply still pending. This makes delivery
at-least-once at the edges: a client that read a message but vanished before the consumer could
tell gets it again from the next consumer.

A poll claims what is pending for itself alone. Several websockets of one account each get every
live message (like the Go project), so they share their claims; a message is released when the
last of them lets go. A websocket claims at most `bound` messages (queued for it, or sent and not
yet confirmed): a stuck client holds no more than that, and what it cannot take stays pending for
the polls and is read from the store once it has room again. While websockets keep up, new
messages go to them only; a poll is woken for a message no websocket took.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from signal_rest.domain.envelopes import with_voice_note_flags
from signal_rest.errors import RpcTimeout, SignalApiError
from signal_rest.inbox.consumers import Consumers
from signal_rest.inbox.store import InboxStore, StoredMessage
from signal_rest.jsonrpc.client import RpcClient

__all__ = ["Batch", "Inbox", "Stream", "message_of"]

log = logging.getLogger(__name__)

# Messages one websocket may claim unless told otherwise (the `websocket_queue` setting).
DEFAULT_BOUND = 500
# Most received messages waiting for their commit at a time (the daemon's reader waits beyond).
MAX_UNCOMMITTED = 1024
# Longest wait between two subscribeReceive calls that timed out.
MAX_SUBSCRIBE_DELAY = 30.0


def message_of(params: Any) -> dict[str, Any] | None:
    """The `{"envelope", "account"}` object of a `receive` notification, in either of signal-cli's
    two forms (auto subscription: params itself; subscribeReceive: params.result)."""
    if not isinstance(params, dict):
        return None
    if "subscription" in params and isinstance(params.get("result"), dict):
        params = params["result"]
    return params if isinstance(params.get("account"), str) else None


class Batch:
    """What one poll claimed: nobody else gets these messages until it settles them, with
    `delivered()` once the response reached the client or `release()` if it did not."""

    def __init__(self, inbox: Inbox, account: str, messages: list[StoredMessage]) -> None:
        self._inbox = inbox
        self.account = account
        self.messages = messages
        self._settled = False

    async def delivered(self) -> None:
        if self._settled:
            return
        self._settled = True
        await self._inbox._deliver([m.id for m in self.messages], self.account)

    def release(self) -> None:
        if not self._settled:
            self._settled = True
            self._inbox._release([m.id for m in self.messages], self.account)


class Stream:
    """One websocket's feed of an account's messages; made by `Inbox.stream`."""

    def __init__(self, inbox: Inbox, account: str, bound: int) -> None:
        self._inbox = inbox
        self.account = account
        self.bound = max(1, bound)
        self._queue: list[StoredMessage] = []  # held and not yet handed out, by id
        self._held: set[int] = set()  # claimed for this stream: queued, or out and unconfirmed
        # The store may hold messages for this stream older than any new one. Once one was
        # left there (no room), new ones are left there too, behind it, until it is read.
        self._behind = True
        # Nothing read from the store yet: new messages come in, up to the bound; its first
        # read puts the backlog before them.
        self._fresh = True
        self._passed = 0  # new messages left in the store (see `_catch_up`)
        # Every pending message up to this id that no other consumer claims is held here,
        # unless `_reread`: another consumer let go of one at or below it (pending again), so
        # the next read starts from the oldest pending message.
        self._read_to: int | None = None
        self._reread = False
        self._changed = asyncio.Event()
        self._open = True

    @property
    def queued(self) -> int:
        """Messages held for this stream that `get` has not handed out yet."""
        return len(self._queue)

    @property
    def held(self) -> int:
        """Messages claimed for this stream: queued, or handed out and not yet delivered."""
        return len(self._held)

    async def get(self) -> StoredMessage:
        """The next message: first what was pending when the stream opened, then each new one.
        The backlog is read first even when new messages filled the stream before. Once it
        was read, the queue is older than anything this stream has yet to read from the store
        (a stream that is behind takes no new message): it goes first, unless another consumer
        let go of older messages since."""
        while True:
            if self._behind and (
                self._fresh or (len(self._held) < self.bound and (self._reread or not self._queue))
            ):
                await self._catch_up()
                continue
            if self._queue:
                return self._queue.pop(0)
            self._changed.clear()
            await self._changed.wait()

    async def delivered(self, messages: list[StoredMessage]) -> None:
        """The client has these messages: mark them delivered and drop the claims."""
        ids = [m.id for m in messages if m.id in self._held]
        self._held.difference_update(ids)  # not released by `close` while being marked
        try:
            # Not synced by itself: a websocket delivers at least once already (a frame read
            # just before the connection broke comes again), so a power loss that sets the
            # marks back a moment only repeats what the client may see twice anyway.
            await self._inbox._deliver(ids, self.account, sync=False)
        finally:
            self._changed.set()

    def stop(self) -> None:
        """Take nothing more: new messages no longer come here, and what is queued and not
        handed out yet is pending again. What was handed out stays held until `delivered` or
        `close`. (A websocket that sent its `max_messages` stops: else it would hold newer
        messages back from the client's next websocket, which could then get them before
        older ones this stream lets go later.)"""
        queued = self._leave()
        self._held.difference_update(queued)
        self._inbox._release(queued, self.account)

    def close(self) -> None:
        """Stop the feed: new messages no longer come here, and what this stream holds but did
        not deliver is pending again. Idempotent; leaving `Inbox.stream` calls it."""
        self._leave()
        self._inbox._release(list(self._held), self.account)
        self._held.clear()

    def _leave(self) -> list[int]:
        """Out of the hand-out, nothing more read from the store; the queue is emptied and
        its ids returned (still held)."""
        self._open = False
        self._behind = False
        streams = self._inbox._streams.get(self.account)
        if streams is not None:
            streams.discard(self)
            if not streams:
                del self._inbox._streams[self.account]
        queued = [m.id for m in self._queue]
        self._queue.clear()
        return queued

    def _offer(self, stored: StoredMessage) -> bool:
        """A new message: True when this stream has it. One that does not fit, or that comes
        while older ones wait in the store, is read from the store after them."""
        if stored.id in self._held:
            return True  # read from the store before its notification got here
        if len(self._held) >= self.bound or (self._behind and not self._fresh):
            self._behind = True
            self._passed += 1
            return False
        self._hold(stored)
        return True

    def _let_go(self, lowest: int) -> None:
        """Messages from id `lowest` up are pending again: another consumer let them go (a
        websocket that closed, a poll whose client did not get them). They are read from the
        store, before anything newer that waits there."""
        if not self._open:
            return
        if self._read_to is None or lowest <= self._read_to:
            self._reread = True
        self._behind = True
        self._changed.set()

    def _hold(self, stored: StoredMessage) -> None:
        if self._read_to is None or stored.id > self._read_to:
            self._read_to = stored.id
        self._inbox._claim(stored.id)
        self._held.add(stored.id)
        bisect.insort(self._queue, stored, key=lambda m: m.id)
        self._changed.set()

    async def _catch_up(self) -> None:
        """Read the oldest pending messages this stream has room for. It stays behind when the
        read was full, or when a new message was left in the store meanwhile (the read may have
        begun before it was committed)."""
        async with self._inbox._locks[self.account]:
            # A fresh stream has handed nothing out: all it holds came new, and goes back
            # behind the backlog when that leaves it no room.
            room = self.bound if self._fresh else self.bound - len(self._held)
            if not self._behind or not self._open or room <= 0:
                return
            passed = self._passed
            # After the first read, only what lies beyond what this stream holds: reading its
            # own claims again cost a decode per message it holds for each few it had room for,
            # and a stream that fell behind could no longer catch up.
            after = None if self._fresh or self._reread else self._read_to
            self._reread = False  # set again by a message let go while this reads
            rows = await self._inbox._unclaimed(self.account, room, after=after)
            if not self._open:
                return
            self._fresh = False
            for stored in rows:
                self._hold(stored)
            # Older messages may still wait in the store past a full read, and a fresh stream
            # keeps no more than its bound: what came in before they were read (a fresh stream
            # takes new messages) goes back, to be read after them.
            last = rows[-1].id if len(rows) == room else None
            if len(self._held) > self.bound:
                last = self._queue[self.bound - 1].id
            if last is not None:
                later = [m.id for m in self._queue if m.id > last]
                self._read_to = last
                if later:
                    self._queue = [m for m in self._queue if m.id <= last]
                    self._held.difference_update(later)
                    self._inbox._release(later, self.account)
            self._behind = last is not None or self._passed != passed or self._reread


class Inbox:
    def __init__(self, store: InboxStore) -> None:
        self.store = store
        self.consumers = Consumers(store)
        self._uncommitted: set[asyncio.Future[int | None]] = set()
        self._room = asyncio.Semaphore(MAX_UNCOMMITTED)
        self._streams: defaultdict[str, set[Stream]] = defaultdict(set)
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._claims: dict[int, int] = {}  # message id -> consumers holding it
        self._polled: set[int] = set()  # claimed by a poll, for itself alone
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def on_notification(self, method: str, params: Any) -> None:
        """Store a notification's message and hand it out; returns once both are done."""
        stored = self.accept(method, params)
        if stored is not None:
            await stored

    async def on_notification_pipelined(self, method: str, params: Any) -> None:
        """`on_notification` for the daemon's reader: returns once the message is queued for
        the disk, so the next one can join its transaction. Messages are committed and handed
        out in arrival order; at most MAX_UNCOMMITTED wait for their commit at a time."""
        await self._room.acquire()
        stored = self.accept(method, params)
        if stored is None:
            self._room.release()
        else:
            stored.add_done_callback(lambda _: self._room.release())

    async def settled(self) -> None:
        """Until every message accepted so far is committed and handed out."""
        while self._uncommitted:
            await asyncio.gather(*list(self._uncommitted), return_exceptions=True)

    def accept(self, method: str, params: Any) -> asyncio.Future[int | None] | None:
        """Queue a `receive` notification's message for the disk; once committed it is handed
        out (before the returned future's other callbacks run). None for anything else."""
        if method != "receive":
            return None
        message = message_of(params)
        if message is None:
            log.warning(
                "ignoring a receive notification without an account (%s)", type(params).__name__
            )
            return None
        # The one place received messages enter: what every consumer (poll, websocket) reads.
        message = with_voice_note_flags(message)
        stored = self.store.add_soon(message["account"], message)
        self._uncommitted.add(stored)
        stored.add_done_callback(functools.partial(self._committed, message))
        return stored

    def _committed(self, message: dict[str, Any], stored: asyncio.Future[int | None]) -> None:
        self._uncommitted.discard(stored)
        if stored.cancelled():
            return
        error = stored.exception()
        if error is not None:
            log.error("could not store a received message for %s: %s", message["account"], error)
            return
        message_id = stored.result()
        if message_id is not None:
            handed = StoredMessage(message_id, message["account"], message)
            self._hand_out(handed)
            self.consumers.notify(handed)

    def _hand_out(self, stored: StoredMessage) -> None:
        # A new message, on disk: to the account's websockets, or else to a waiting poll. A
        # poll may have claimed it already, between the write and this call.
        if stored.id in self._polled:
            return
        taken = [stream._offer(stored) for stream in list(self._streams.get(stored.account, ()))]
        if not any(taken):
            self._wake(stored.account)

    def subscriber(
        self, client: RpcClient, *, retry_delay: float = 1.0
    ) -> Callable[[], Awaitable[None]]:
        """A connect hook that subscribes to every account's messages on each connection.

        A subscription the daemon does not answer in time is asked for again on the same
        connection (with back-off), or no message would arrive until the next reconnect; if the
        first one was only late, the daemon sends each message twice and the store keeps one."""

        async def subscribe() -> None:
            delay = retry_delay
            while True:
                try:
                    await client.call("subscribeReceive")
                    return
                except RpcTimeout as exc:
                    log.warning("subscribeReceive: %s; asking again in %g s", exc.message, delay)
                except SignalApiError as exc:
                    # A lost connection ends up here too; the next one runs this hook again.
                    log.error("subscribeReceive failed, no messages will arrive: %s", exc.message)
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_SUBSCRIBE_DELAY)

        return subscribe

    @contextlib.contextmanager
    def stream(self, account: str, *, bound: int = DEFAULT_BOUND) -> Iterator[Stream]:
        """A websocket's feed of `account`: what is pending, then every new message. On exit,
        what it did not deliver is pending again."""
        stream = Stream(self, account, bound)
        self._streams[account].add(stream)
        try:
            yield stream
        finally:
            stream.close()

    async def claim(self, account: str, limit: int | None = None) -> Batch:
        """Pending, unclaimed messages of `account` (at most `limit`), oldest first, claimed."""
        async with self._locks[account]:
            messages = await self._unclaimed(account, limit)
            for stored in messages:
                self._claim(stored.id)
                self._polled.add(stored.id)
        return Batch(self, account, messages)

    async def take(self, account: str, limit: int | None = None) -> list[StoredMessage]:
        """Pending, unclaimed messages of `account`, oldest first, marked as delivered."""
        batch = await self.claim(account, limit)
        await batch.delivered()
        return batch.messages

    async def poll(
        self,
        account: str,
        *,
        limit: int | None,
        timeout: float,
        gone: asyncio.Future[Any] | None = None,
    ) -> Batch:
        """What is pending now; if nothing is, wait up to `timeout` seconds for a message no
        websocket takes. An empty batch as soon as `gone` (the client's disconnect) is done."""
        woken = asyncio.Event()
        self._waiters[account].add(woken)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                woken.clear()  # before reading: a message stored meanwhile wakes the wait
                batch = await self.claim(account, limit)
                if batch.messages or timeout <= 0:
                    return batch
                if not await _wait(woken, gone, deadline - loop.time()):
                    return batch
        finally:
            self._waiters[account].discard(woken)
            if not self._waiters[account]:
                del self._waiters[account]

    async def _unclaimed(
        self, account: str, limit: int | None, *, after: int | None = None
    ) -> list[StoredMessage]:
        # Claimed messages are still pending in the store; read enough rows to skip them. The
        # filter runs after the read, with no await before the caller claims what it returns.
        extra = len(self._claims) if after is None else sum(i > after for i in self._claims)
        rows = await self.store.pending(account, limit + extra if limit else None, after=after)
        messages = [m for m in rows if m.id not in self._claims]
        return messages[:limit] if limit else messages

    async def _deliver(self, message_ids: list[int], account: str, *, sync: bool = True) -> None:
        if not message_ids:
            return
        # Shielded: when the caller is cancelled meanwhile (its client went away), the claims
        # are still let go only once the marks are committed. Let go before, another consumer
        # would read the messages as pending and unclaimed, and send them again.
        await asyncio.shield(self._mark_delivered(message_ids, account, sync))

    async def _mark_delivered(self, message_ids: list[int], account: str, sync: bool) -> None:
        # Under the account's lock: a read of pending messages that began before the rows were
        # marked still sees them, and must find them claimed when it filters.
        async with self._locks[account]:
            marked = False
            try:
                await self.store.mark_delivered(message_ids, sync=sync)
                marked = True
            finally:
                self._release(message_ids, account, pending=not marked)

    def _claim(self, message_id: int) -> None:
        self._claims[message_id] = self._claims.get(message_id, 0) + 1

    def _release(self, message_ids: list[int], account: str, *, pending: bool = True) -> None:
        """Drop one claim on each message; those no consumer holds any more are `pending`
        again, or delivered. Waiting polls are woken either way (one woken for a delivered
        message finds nothing and waits on); the open websockets read pending ones again."""
        lowest: int | None = None
        for message_id in message_ids:
            left = self._claims.get(message_id, 1) - 1
            if left > 0:
                self._claims[message_id] = left
                continue
            self._claims.pop(message_id, None)
            self._polled.discard(message_id)
            if lowest is None or message_id < lowest:
                lowest = message_id
        if lowest is None:
            return
        self._wake(account)
        if pending:
            for stream in list(self._streams.get(account, ())):
                stream._let_go(lowest)

    def _wake(self, account: str) -> None:
        for waiter in self._waiters.get(account, ()):
            waiter.set()


async def _wait(woken: asyncio.Event, gone: asyncio.Future[Any] | None, timeout: float) -> bool:
    """Wait for `woken`: False when the time is up or the client is gone first."""
    if timeout <= 0 or (gone is not None and gone.done()):
        return False
    wake = asyncio.ensure_future(woken.wait())
    waits: set[asyncio.Future[Any]] = {wake} if gone is None else {wake, gone}
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        wake.cancel()
    return woken.is_set() and not (gone is not None and gone.done())
