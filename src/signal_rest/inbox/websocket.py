"""Feeding one receive websocket from its `Stream`: frames out, counted once the client read them.

    with inbox.stream(account, bound=settings.websocket_queue) as stream:
        await websocket.accept()
        await feed(websocket, stream, limit=None, skip_stories=False, write_timeout=30.0)

A frame is delivered once the client has read it: the pong to a ping sent after it proves that
(uvicorn with `signal_rest.protocols.websocket`; one ping confirms every frame before it, so
frames are confirmed in batches, after each burst). Frames left in socket buffers by a client
that stopped reading are not delivered; when the websocket ends they are pending again. So
delivery is at-least-once: a client that read a frame but went away before its pong gets it
again from the next consumer. One exception: with `max_messages`, the last frames also count as
read when the client closes the websocket itself (1000/1001) after being sent all it asked for,
as pysignalclirestapi does without reading the ping. Under a server without the ping extension
a frame counts as delivered once it was handed to the server, as before.

A client that does not take a frame, or answer the ping, within `write_timeout` seconds is closed
with 1011 (clients reconnect); its stream holds at most `bound` messages meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from starlette.websockets import WebSocket, WebSocketDisconnect

from signal_rest import jsoncodec
from signal_rest.inbox.store import StoredMessage
from signal_rest.protocols.websocket import PINGS, Pings

__all__ = ["STUCK_CODE", "Feed", "Stuck", "close_stuck", "feed", "is_story", "within"]

T = TypeVar("T")

STUCK_CODE = 1011
STUCK_REASON = "the client did not read in time"
# The close codes of a client that ends the websocket itself (uvicorn reports 1005/1006 for a
# connection that ended without a close frame, 1012 for its own shutdown).
_CLIENT_CLOSES = (1000, 1001)


class Stuck(Exception):
    """The client did not take a frame or answer a ping in time."""


class Feed(Protocol):
    """What `feed` sends from: an unnamed client's `delivery.Stream`, or a named consumer's
    `CursorFeed`."""

    @property
    def bound(self) -> int: ...

    @property
    def queued(self) -> int: ...

    async def get(self) -> StoredMessage: ...

    async def delivered(self, messages: list[StoredMessage]) -> None: ...

    def close(self) -> None: ...


def is_story(message: dict[str, Any]) -> bool:
    envelope = message.get("envelope")
    return isinstance(envelope, dict) and "storyMessage" in envelope


async def feed(
    websocket: WebSocket,
    stream: Feed,
    *,
    limit: int | None,
    skip_stories: bool,
    write_timeout: float,
) -> None:
    """Send `stream` to `websocket` until the client goes away or `limit` frames went out; then
    wait for the client to close. Returns when the websocket is done."""
    found = websocket.scope.get("extensions", {}).get(PINGS)
    pings = found if isinstance(found, Pings) else None
    closed = asyncio.create_task(_until_closed(websocket))
    sending = asyncio.create_task(
        _send_all(
            websocket,
            stream,
            pings,
            limit=limit,
            skip_stories=skip_stories,
            write_timeout=write_timeout,
        )
    )
    try:
        await asyncio.wait({closed, sending}, return_when=asyncio.FIRST_COMPLETED)
        if not sending.done():
            return  # the client went away
        error = sending.exception()
        if error is None:
            # After `max_messages` frames nothing more is sent: a client such as
            # pysignalclirestapi closes once it has that many, and whatever it was sent on top
            # would be lost. Later messages wait for the next consumer.
            await _confirm_last(stream, pings, sending.result(), closed, write_timeout)
            stream.close()
            await closed
        elif not isinstance(error, WebSocketDisconnect | ConnectionError | RuntimeError):
            raise error
    except Stuck:
        await close_stuck(websocket, pings, write_timeout)
    finally:
        for task in (closed, sending):
            task.cancel()
        await asyncio.gather(closed, sending, return_exceptions=True)


async def _send_all(
    websocket: WebSocket,
    stream: Feed,
    pings: Pings | None,
    *,
    limit: int | None,
    skip_stories: bool,
    write_timeout: float,
) -> list[StoredMessage]:
    """Send until `limit` frames went out; the last ones, not yet confirmed, are returned."""
    sent = 0
    unconfirmed: list[StoredMessage] = []
    batch = max(1, stream.bound // 2)  # the rest of the bound takes new messages meanwhile
    while limit is None or sent < limit:
        stored = await stream.get()
        if skip_stories and is_story(stored.message):
            await stream.delivered([stored])  # taken, not sent
        else:
            frame = jsoncodec.dumps_text(stored.message)
            await within(write_timeout, websocket.send_text(frame))
            sent += 1
            unconfirmed.append(stored)
        if pings is None:
            await stream.delivered(unconfirmed)
            unconfirmed = []
        elif unconfirmed and sent != limit and (not stream.queued or len(unconfirmed) >= batch):
            await within(write_timeout, pings.ping())
            await stream.delivered(unconfirmed)
            unconfirmed = []
    return unconfirmed


async def _confirm_last(
    stream: Feed,
    pings: Pings | None,
    unconfirmed: list[StoredMessage],
    closed: asyncio.Task[int | None],
    write_timeout: float,
) -> None:
    """The last frames before `max_messages` count as read on the pong, or when the client
    closes the websocket itself: it asked for that many and closes once it has them
    (pysignalclirestapi reads them and closes without reading the ping)."""
    if pings is None or not unconfirmed:
        return
    pong = asyncio.ensure_future(pings.ping())
    try:
        await asyncio.wait(
            {pong, closed}, timeout=write_timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        pong.cancel()
    answered = pong.done() and not pong.cancelled() and pong.exception() is None
    closed_by_client = (
        closed.done() and closed.exception() is None and closed.result() in _CLIENT_CLOSES
    )
    if answered or closed_by_client:
        await stream.delivered(unconfirmed)
    elif not closed.done():
        raise Stuck()


async def within(seconds: float, work: Awaitable[T]) -> T:
    try:
        return await asyncio.wait_for(work, seconds)
    except TimeoutError as exc:
        raise Stuck() from exc


async def close_stuck(websocket: WebSocket, pings: Pings | None, write_timeout: float) -> None:
    if pings is not None:
        pings.close_now(STUCK_CODE, STUCK_REASON)
        return
    # Another server: its close waits for the buffers to drain, so give it a time limit too.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(STUCK_CODE, STUCK_REASON), write_timeout)


async def _until_closed(websocket: WebSocket) -> int | None:
    """Returns when the client goes away: the code of its close frame, or 1005/1006 when the
    connection ended without one. Frames from the client are read and dropped (reading also
    lets its pongs in)."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                code: int | None = message.get("code")
                return code
    except WebSocketDisconnect as exc:
        return exc.code
