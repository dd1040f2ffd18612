"""From the daemon's `receive` notifications to the consumers: store first, then hand out.

    inbox = Inbox(store)
    client = RpcClient(transport, on_notification=inbox.on_notification)
    client.add_connect_hook(inbox.subscriber(client))   # subscribeReceive on every (re)connect

    messages = await inbox.poll("+4915…", limit=None, timeout=1.0)   # REST: takes and marks them
    with inbox.stream("+4915…") as stream:                          # websocket
        for stored in await stream.backlog():                        # what arrived meanwhile
            ...; await stream.delivered(stored)
        stored = await stream.get()                                  # then each new message

Every message is on disk before a consumer sees it, and it stays pending until one has taken it:
the REST poll takes what is pending, a websocket gets the backlog and then each new message.
Several websockets for one account each get every live message, like the Go project.

Each message goes to one kind of consumer. While a websocket is open for an account, its new
messages go to the websockets only: they are *claimed* (in memory) from the moment they are
handed out until a websocket has sent them and marked them delivered, and the REST poll never
takes a claimed message. A message no websocket managed to send loses its claim and is pending
again. Claims are not stored: after a crash the message is simply still pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from signal_rest.errors import SignalApiError
from signal_rest.inbox.store import InboxStore, StoredMessage
from signal_rest.jsonrpc.client import RpcClient

__all__ = ["Inbox", "Stream", "message_of"]

log = logging.getLogger(__name__)


def message_of(params: Any) -> dict[str, Any] | None:
    """The `{"envelope", "account"}` object of a `receive` notification, in either of signal-cli's
    two forms (auto subscription: params itself; subscribeReceive: params.result)."""
    if not isinstance(params, dict):
        return None
    if "subscription" in params and isinstance(params.get("result"), dict):
        params = params["result"]
    return params if isinstance(params.get("account"), str) else None


class Stream:
    """One websocket's feed of an account's messages; made by `Inbox.stream`."""

    def __init__(self, inbox: Inbox, account: str) -> None:
        self._inbox = inbox
        self.account = account
        self._queue: asyncio.Queue[StoredMessage] = asyncio.Queue()
        self._held: set[int] = set()  # claimed for this stream, not yet released
        self._backlog_ids: set[int] = set()

    def _offer(self, stored: StoredMessage) -> None:
        if stored.id in self._backlog_ids:
            # The backlog read it before this notification got here: it is (being) sent.
            return
        self._inbox._claim(stored.id)
        self._held.add(stored.id)
        self._queue.put_nowait(stored)

    async def backlog(self, limit: int | None = None) -> list[StoredMessage]:
        """What is pending and unclaimed for the account (at most `limit`), oldest first, now
        claimed by this stream. Call once, after opening the stream, so that nothing falls
        between the two."""
        async with self._inbox._take_locks[self.account]:
            messages = await self._inbox._unclaimed(self.account, limit)
            for stored in messages:
                self._inbox._claim(stored.id)
                self._held.add(stored.id)
                self._backlog_ids.add(stored.id)
        return messages

    async def get(self) -> StoredMessage:
        """The next new message for the account."""
        return await self._queue.get()

    async def delivered(self, stored: StoredMessage) -> None:
        """`stored` went out on this stream: mark it delivered and drop the claim."""
        await self._inbox.store.mark_delivered([stored.id])
        if stored.id in self._held:
            self._held.discard(stored.id)
            self._inbox._release(stored.id, self.account, delivered=True)

    def close(self) -> None:
        """Stop the feed: new messages no longer come here, and what this stream holds but did
        not deliver is pending again. Idempotent; leaving `Inbox.stream` calls it."""
        streams = self._inbox._streams.get(self.account)
        if streams is not None:
            streams.discard(self)
            if not streams:
                del self._inbox._streams[self.account]
        for message_id in self._held:
            self._inbox._release(message_id, self.account, delivered=False)
        self._held.clear()


class Inbox:
    def __init__(self, store: InboxStore) -> None:
        self.store = store
        self._streams: defaultdict[str, set[Stream]] = defaultdict(set)
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._claims: dict[int, int] = {}  # message id -> streams still handing it out
        self._take_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def on_notification(self, method: str, params: Any) -> None:
        if method != "receive":
            return
        message = message_of(params)
        if message is None:
            log.warning("ignoring a receive notification without an account")
            return
        account = message["account"]
        message_id = await self.store.add(account, message)
        if message_id is None:
            return
        stored = StoredMessage(message_id, account, message)
        streams = self._streams.get(account)
        if streams:
            for stream in streams:
                stream._offer(stored)
        else:
            self._wake(account)

    def subscriber(self, client: RpcClient) -> Callable[[], Awaitable[None]]:
        """A connect hook that subscribes to every account's messages on each connection."""

        async def subscribe() -> None:
            try:
                await client.call("subscribeReceive")
            except SignalApiError as exc:
                log.error("subscribeReceive failed, no messages will arrive: %s", exc.message)

        return subscribe

    @contextlib.contextmanager
    def stream(self, account: str) -> Iterator[Stream]:
        """A websocket's feed: every message stored for `account` from now on, plus the
        backlog on request. On exit, what it did not deliver is pending again."""
        stream = Stream(self, account)
        self._streams[account].add(stream)
        try:
            yield stream
        finally:
            stream.close()

    async def take(self, account: str, limit: int | None = None) -> list[StoredMessage]:
        """Pending, unclaimed messages of `account`, oldest first, marked as delivered."""
        async with self._take_locks[account]:
            messages = await self._unclaimed(account, limit)
            await self.store.mark_delivered([m.id for m in messages])
        return messages

    async def poll(self, account: str, *, limit: int | None, timeout: float) -> list[StoredMessage]:
        """What is pending now; if nothing is, wait up to `timeout` seconds for the next message
        that no websocket takes."""
        woken = asyncio.Event()
        self._waiters[account].add(woken)
        try:
            messages = await self.take(account, limit)
            if messages or timeout <= 0:
                return messages
            try:
                await asyncio.wait_for(woken.wait(), timeout)
            except TimeoutError:
                return []
            return await self.take(account, limit)
        finally:
            self._waiters[account].discard(woken)
            if not self._waiters[account]:
                del self._waiters[account]

    async def _unclaimed(self, account: str, limit: int | None) -> list[StoredMessage]:
        # Claimed messages are still pending in the store; read enough rows to skip them.
        extra = len(self._claims)
        rows = await self.store.pending(account, limit + extra if limit else None)
        messages = [m for m in rows if m.id not in self._claims]
        return messages[:limit] if limit else messages

    def _claim(self, message_id: int) -> None:
        self._claims[message_id] = self._claims.get(message_id, 0) + 1

    def _release(self, message_id: int, account: str, *, delivered: bool) -> None:
        left = self._claims.get(message_id, 1) - 1
        if left > 0:
            self._claims[message_id] = left
            return
        self._claims.pop(message_id, None)
        if not delivered:
            self._wake(account)  # no websocket sent it: it is pending again

    def _wake(self, account: str) -> None:
        for waiter in self._waiters.get(account, ()):
            waiter.set()
