"""From the daemon's `receive` notifications to the consumers: store first, then hand out.

    inbox = Inbox(store)
    client = RpcClient(transport, on_notification=inbox.on_notification)
    client.add_connect_hook(inbox.subscriber(client))   # subscribeReceive on every (re)connect

    messages = await inbox.poll("+4915…", limit=None, timeout=1.0)   # REST: takes and marks them
    with inbox.listen("+4915…") as live:                            # websocket: live feed
        ...

Every message is on disk before a consumer sees it, and it stays pending until one has taken it:
the REST poll takes what is pending, a websocket gets the backlog and then each new message.
Several websockets for one account each get every live message, like the Go project.
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

__all__ = ["Inbox", "message_of"]

log = logging.getLogger(__name__)


def message_of(params: Any) -> dict[str, Any] | None:
    """The `{"envelope", "account"}` object of a `receive` notification, in either of signal-cli's
    two forms (auto subscription: params itself; subscribeReceive: params.result)."""
    if not isinstance(params, dict):
        return None
    if "subscription" in params and isinstance(params.get("result"), dict):
        params = params["result"]
    return params if isinstance(params.get("account"), str) else None


class Inbox:
    def __init__(self, store: InboxStore) -> None:
        self.store = store
        self._listeners: defaultdict[str, set[asyncio.Queue[StoredMessage]]] = defaultdict(set)
        self._take_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def on_notification(self, method: str, params: Any) -> None:
        if method != "receive":
            return
        message = message_of(params)
        if message is None:
            log.warning("ignoring a receive notification without an account: %.200r", params)
            return
        account = message["account"]
        message_id = await self.store.add(account, message)
        if message_id is None:
            return
        stored = StoredMessage(message_id, account, message)
        for listener in self._listeners.get(account, ()):
            listener.put_nowait(stored)

    def subscriber(self, client: RpcClient) -> Callable[[], Awaitable[None]]:
        """A connect hook that subscribes to every account's messages on each connection."""

        async def subscribe() -> None:
            try:
                await client.call("subscribeReceive")
            except SignalApiError as exc:
                log.error("subscribeReceive failed, no messages will arrive: %s", exc.message)

        return subscribe

    @contextlib.contextmanager
    def listen(self, account: str) -> Iterator[asyncio.Queue[StoredMessage]]:
        """A queue that gets every message stored for `account` from now on."""
        queue: asyncio.Queue[StoredMessage] = asyncio.Queue()
        self._listeners[account].add(queue)
        try:
            yield queue
        finally:
            self._listeners[account].discard(queue)
            if not self._listeners[account]:
                del self._listeners[account]

    async def take(self, account: str, limit: int | None = None) -> list[StoredMessage]:
        """Pending messages of `account`, oldest first, marked as delivered."""
        async with self._take_locks[account]:
            messages = await self.store.pending(account, limit)
            await self.store.mark_delivered([m.id for m in messages])
        return messages

    async def poll(self, account: str, *, limit: int | None, timeout: float) -> list[StoredMessage]:
        """What is pending now; if nothing is, wait up to `timeout` seconds for the next message."""
        with self.listen(account) as live:
            messages = await self.take(account, limit)
            if messages or timeout <= 0:
                return messages
            try:
                await asyncio.wait_for(live.get(), timeout)
            except TimeoutError:
                return []
            return await self.take(account, limit)
