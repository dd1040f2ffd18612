"""A named consumer's receive websocket, with or without explicit acks.

    async with consumers.connected("ha", account, kind="websocket") as cursor:
        await feed(websocket, CursorFeed(cursor, bound), ...)         # acked by the pong
        await feed_acked(websocket, cursor, bound=…, ack_timeout=…, …)  # acked by the client

Without acks, `CursorFeed` lets `websocket.feed` send the consumer's messages: a frame counts as
done once the pong of a later ping proves the client read it, as for unnamed clients, and the
consumer's position moves past it.

With acks, every frame carries the message's inbox `id`, and the client answers with a text
frame `{"ack": <id>}` once it has handled everything up to that id. At most `bound` frames are
out unacked; when no ack comes for `ack_timeout` seconds, or on the next connection, everything
after the last ack is sent again, in order (the client skips ids it has seen).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from signal_rest import jsoncodec
from signal_rest.inbox.consumers import Cursor
from signal_rest.inbox.store import StoredMessage
from signal_rest.inbox.websocket import Stuck, close_stuck, is_story, within

__all__ = ["CursorFeed", "feed_acked", "with_id"]

log = logging.getLogger(__name__)


def with_id(stored: StoredMessage) -> dict[str, Any]:
    """The message as clients that ack see it: signal-cli's object plus the inbox id."""
    return {**stored.message, "id": stored.id}


class CursorFeed:
    """A named consumer's messages for `websocket.feed`. Confirmations may come out of order
    (a skipped story is done at once); the position only moves over a run of confirmed ids."""

    def __init__(self, cursor: Cursor, bound: int) -> None:
        self._cursor = cursor
        self.bound = max(1, bound)
        self._buffer: collections.deque[StoredMessage] = collections.deque()
        self._out: collections.deque[int] = collections.deque()  # handed out, in order
        self._done: set[int] = set()
        self._room = asyncio.Event()

    @property
    def queued(self) -> int:
        return len(self._buffer)

    async def get(self) -> StoredMessage:
        """The next message; waits while `bound` are handed out and not confirmed."""
        while not self._buffer:
            room = self.bound - len(self._out)
            if room <= 0:
                self._room.clear()
                await self._room.wait()
                continue
            self._buffer.extend(await self._cursor.next(limit=room))
        stored = self._buffer.popleft()
        self._out.append(stored.id)
        return stored

    async def delivered(self, messages: list[StoredMessage]) -> None:
        self._done.update(m.id for m in messages)
        last = None
        while self._out and self._out[0] in self._done:
            last = self._out.popleft()
            self._done.discard(last)
        if last is not None:
            self._room.set()
            await self._cursor.ack(last)

    def stop(self) -> None:
        """Hand out nothing more (what was read ahead comes again on the next connection)."""
        self._buffer.clear()

    def close(self) -> None:
        self._buffer.clear()


class _InFlight:
    """The ids sent and not acked yet, and when they are due again."""

    def __init__(self, cursor: Cursor, ack_timeout: float) -> None:
        self.cursor = cursor
        self.ack_timeout = ack_timeout
        self.ids: collections.deque[int] = collections.deque()
        self.due = 0.0
        self._changed: asyncio.Future[None] | None = None

    def changed(self) -> asyncio.Future[None]:
        if self._changed is None or self._changed.done():
            self._changed = asyncio.get_running_loop().create_future()
        return self._changed

    def sent(self, message_id: int) -> None:
        if not self.ids:
            self.due = asyncio.get_running_loop().time() + self.ack_timeout
        self.ids.append(message_id)

    async def ack(self, message_id: int) -> None:
        # Only what was sent can be acked: an id beyond it would skip messages.
        if not self.ids or message_id < self.ids[0]:
            return
        await self.cursor.ack(min(message_id, self.ids[-1]))
        while self.ids and self.ids[0] <= self.cursor.position:
            self.ids.popleft()
        self.due = asyncio.get_running_loop().time() + self.ack_timeout
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)

    def rewind(self) -> None:
        self.ids.clear()
        self.cursor.rewind()


async def feed_acked(
    websocket: WebSocket,
    cursor: Cursor,
    *,
    bound: int,
    ack_timeout: float,
    limit: int | None,
    skip_stories: bool,
    write_timeout: float,
) -> None:
    """Send `cursor`'s messages to `websocket` with ids, take the client's acks, send again what
    is not acked in time; until the client goes away (or `limit` frames went out and it closes)."""
    flight = _InFlight(cursor, ack_timeout)
    reading = asyncio.create_task(_read_acks(websocket, flight))
    sending = asyncio.create_task(
        _send(websocket, flight, max(1, bound), limit, skip_stories, write_timeout)
    )
    try:
        await asyncio.wait({reading, sending}, return_when=asyncio.FIRST_COMPLETED)
        if sending.done():
            error = sending.exception()
            if error is None:
                await reading  # all `limit` frames are out: acks may still come
            elif isinstance(error, Stuck):
                await close_stuck(websocket, None, write_timeout)
            elif not isinstance(error, WebSocketDisconnect | ConnectionError | RuntimeError):
                raise error
    finally:
        for task in (reading, sending):
            task.cancel()
        await asyncio.gather(reading, sending, return_exceptions=True)


async def _send(
    websocket: WebSocket,
    flight: _InFlight,
    bound: int,
    limit: int | None,
    skip_stories: bool,
    write_timeout: float,
) -> None:
    loop = asyncio.get_running_loop()
    cursor = flight.cursor
    sent = 0
    while limit is None or sent < limit:
        if flight.ids and loop.time() >= flight.due:
            log.info(
                "consumer %s of %s: no ack for %g s, sending again after %d",
                cursor.name,
                cursor.account,
                flight.ack_timeout,
                cursor.position,
            )
            flight.rewind()
        wait = flight.due - loop.time() if flight.ids else None
        room = bound - len(flight.ids)
        changed = flight.changed()
        if room <= 0:
            await asyncio.wait({changed}, timeout=wait)
            continue
        if limit is not None:
            room = min(room, limit - sent)
        for stored in await cursor.next(limit=room, timeout=wait, gone=changed):
            if skip_stories and is_story(stored.message):
                if not flight.ids:
                    await cursor.ack(stored.id)  # nothing before it is out: done
                else:
                    flight.sent(stored.id)  # done with the next ack after it
                continue
            frame = jsoncodec.dumps_text(with_id(stored))
            # In flight before it is written: the client's ack may come back before the
            # write returns, and an ack of what is not in flight would be ignored.
            flight.sent(stored.id)
            await within(write_timeout, websocket.send_text(frame))
            sent += 1


async def _read_acks(websocket: WebSocket, flight: _InFlight) -> None:
    """Take `{"ack": <id>}` frames until the client goes away; other frames are ignored."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            try:
                ack = json.loads(text)["ack"] if text else None
            except (ValueError, TypeError, KeyError):
                ack = None
            if isinstance(ack, int) and not isinstance(ack, bool):
                await flight.ack(ack)
            else:
                log.debug("ignoring a frame from the client that is no ack: %.80r", text)
    except WebSocketDisconnect:
        return
