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
from signal_rest.inbox.pongs import Confirmations, Stuck
from signal_rest.inbox.store import StoredMessage
from signal_rest.protocols.websocket import PINGS, Pings

__all__ = ["STUCK_CODE", "Feed", "Stuck", "close_stuck", "feed", "is_story", "within"]

T = TypeVar("T")

STUCK_CODE = 1011
STUCK_REASON = "the client did not read in time"
# The close codes of a client that ends the websocket itself (uvicorn reports 1005/1006 for a
# connection that ended without a close frame, 1012 for its own shutdown).
_CLIENT_CLOSES = (1000, 1001)


class Feed(Protocol):
    """What `feed` sends from: an unnamed client's `delivery.Stream`, or a named consumer's
    `CursorFeed`."""

    @property
    def bound(self) -> int: ...

    @property
    def queued(self) -> int: ...

    async def get(self) -> StoredMessage: ...

    async def delivered(self, messages: list[StoredMessage]) -> None: ...

    def stop(self) -> None: ...

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
    confirmations = None if pings is None else Confirmations(stream, pings, write_timeout)
    closed = asyncio.create_task(_until_closed(websocket))
    sending = asyncio.create_task(
        _send_all(
            websocket,
            stream,
            confirmations,
            limit=limit,
            skip_stories=skip_stories,
            write_timeout=write_timeout,
        )
    )
    tasks: set[asyncio.Task[Any]] = {closed, sending}
    confirming = None
    if confirmations is not None:
        confirming = asyncio.create_task(confirmations.run())
        tasks.add(confirming)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if sending.done() and sending.exception() is None:
            # After `max_messages` frames nothing more is sent: a client such as
            # pysignalclirestapi closes once it has that many, and whatever it was sent on top
            # would be lost. Later messages wait for the next consumer.
            stream.stop()
            await _confirm_last(confirmations, confirming, sending.result(), closed)
            stream.close()
            await closed
            return
        for ended in (sending, confirming):
            error = ended.exception() if ended is not None and ended.done() else None
            if error is not None and not isinstance(
                error, WebSocketDisconnect | ConnectionError | RuntimeError
            ):
                raise error
        # Otherwise the client went away.
    except Stuck:
        await close_stuck(websocket, pings, write_timeout)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if confirmations is not None:
            await confirmations.deliver_answered()


async def _send_all(
    websocket: WebSocket,
    stream: Feed,
    confirmations: Confirmations | None,
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
            sent += 1
            unconfirmed.append(stored)
            if confirmations is not None and _burst_ends(stream, unconfirmed, sent, limit, batch):
                # The ping goes out in the frame's own write; the next frame goes at once.
                message = confirmations.ping_behind(frame, unconfirmed)
                unconfirmed = []
            else:
                message = {"type": "websocket.send", "text": frame}
            await within(write_timeout, websocket.send(message))
        if confirmations is None:
            await stream.delivered(unconfirmed)
            unconfirmed = []
        elif _burst_ends(stream, unconfirmed, sent, limit, batch):
            confirmations.ping(unconfirmed)  # behind a story skipped last: a ping of its own
            unconfirmed = []
    return unconfirmed


def _burst_ends(
    stream: Feed, unconfirmed: list[StoredMessage], sent: int, limit: int | None, batch: int
) -> bool:
    """A ping is due behind what was sent: nothing more is queued, or `batch` frames wait for
    one. Not after the `limit`th frame: `_confirm_last` sees to those."""
    return bool(unconfirmed) and sent != limit and (not stream.queued or len(unconfirmed) >= batch)


async def _confirm_last(
    confirmations: Confirmations | None,
    confirming: asyncio.Task[None] | None,
    unconfirmed: list[StoredMessage],
    closed: asyncio.Task[int | None],
) -> None:
    """The frames not confirmed yet when `max_messages` went out count as read on their pongs,
    or when the client closes the websocket itself: it asked for that many and closes once it
    has them (pysignalclirestapi reads them and closes without reading the ping). Raises Stuck
    when neither comes in time."""
    if confirmations is None or confirming is None:
        return
    unpinged: list[StoredMessage] = []
    if unconfirmed:
        try:
            confirmations.ping(unconfirmed)
        except ConnectionError:
            # The client's close came first (it had them all): its close code decides.
            unpinged = unconfirmed
    confirmations.finish()
    await asyncio.wait({confirming, closed}, return_when=asyncio.FIRST_COMPLETED)
    if confirming.done():
        error = confirming.exception()
        if error is None and not unpinged:
            return  # every pong came
        if not closed.done():
            if error is not None and not isinstance(error, ConnectionError):
                raise error
            await asyncio.wait({closed})  # the connection ended: its close code comes next
    confirming.cancel()
    await asyncio.gather(confirming, return_exceptions=True)
    await confirmations.deliver_answered()
    if closed.exception() is None and closed.result() in _CLIENT_CLOSES:
        await confirmations.deliver_all(unpinged)


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
