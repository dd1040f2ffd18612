"""uvicorn's websockets-sansio protocol, plus pings the app can await.

ASGI has no ping, so the app cannot tell a frame the client has read from one that sits in
socket buffers. This protocol offers the ASGI extension `scope["extensions"][PINGS]`, an object
with

    pong = pings.send()         # a ping now, behind every frame sent so far
    await pong                  # the client has read those frames
    payload, pong = pings.prepare()   # a ping to go out behind the next frame, in its write:
    await send({"type": "websocket.send", "text": "…", PING_AFTER: payload})
    pings.close_now(1011, "…")  # a close frame now, even while the client does not read

The pong fails with ConnectionError when the connection ends before it. A pong answers its
ping and every earlier one: frames are read in order.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.frames import Frame
from websockets.http11 import Request

__all__ = ["PINGS", "PING_AFTER", "Pings", "WebSocketProtocol"]

PINGS = "signal_rest.ping"
# A key of a `websocket.send` message: the payload of a prepared ping, written right behind
# the frame in the same system call (one wake-up of the client instead of two).
PING_AFTER = "signal_rest.ping_after"

# The keepalive's pings carry 4 random bytes; these carry a prefix and a counter.
_PREFIX = b"signal-rest:"


class Pings:
    """The `signal_rest.ping` extension of one websocket connection."""

    def __init__(self, protocol: WebSocketProtocol) -> None:
        self._protocol = protocol
        self._numbers = itertools.count()

    def send(self) -> asyncio.Future[None]:
        """Send a ping now, behind every frame sent so far: the future is done on its pong (the
        client has read those frames by then), or fails with ConnectionError if the connection
        ends first. Raises ConnectionError if the websocket is closed."""
        payload, answered = self.prepare()
        protocol = self._protocol
        try:
            protocol.conn.send_ping(payload)
        except InvalidState as exc:
            raise ConnectionError("the websocket is closing") from exc
        protocol.transport.write(b"".join(protocol.conn.data_to_send()))
        return answered

    def prepare(self) -> tuple[bytes, asyncio.Future[None]]:
        """A ping to send behind a frame: its payload, for the `PING_AFTER` key of that frame's
        `websocket.send` message, and the future of its pong (as `send`'s). A ping prepared and
        never sent fails with the connection. Raises ConnectionError if the websocket is
        closed."""
        protocol = self._protocol
        if protocol.disconnected or protocol.close_sent or protocol.transport.is_closing():
            raise ConnectionError("the websocket is closed")
        payload = _PREFIX + str(next(self._numbers)).encode()
        answered: asyncio.Future[None] = protocol.loop.create_future()
        protocol.pings[payload] = answered
        return payload, answered

    def close_now(self, code: int, reason: str) -> None:
        """Write a close frame at once (ASGI's `websocket.close` waits until the client has
        read what is buffered, which a stuck client never does) and cut the connection if the
        client has not answered it within uvicorn's close timeout."""
        protocol = self._protocol
        if protocol.disconnected or protocol.close_sent:
            return
        try:
            protocol.conn.send_close(code, reason)
        except InvalidState:
            return
        protocol.transport.write(b"".join(protocol.conn.data_to_send()))
        protocol.close_sent = True
        protocol.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        if protocol.read_paused:
            protocol.read_paused = False
            protocol.transport.resume_reading()
        # transport.close() would wait for the buffer to drain, forever for a client that
        # does not read: abort instead.
        protocol.close_timer = protocol.loop.call_later(
            protocol.close_timeout, protocol.transport.abort
        )


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """Pass as `ws=` to uvicorn.Config."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pings: dict[bytes, asyncio.Future[None]] = {}  # in the order they were sent

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The app's task is created above but has not run yet, so it sees the extension.
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][PINGS] = Pings(self)

    async def send(self, message: ASGISendEvent) -> None:
        payload = message.get(PING_AFTER) if message["type"] == "websocket.send" else None
        text = message.get("text")
        if not (isinstance(payload, bytes) and isinstance(text, str)):
            await super().send(message)
            return
        # uvicorn's own way with a text frame, and the ping queued behind it before the write.
        await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        if not self.handshake_complete or self.close_sent or self.initial_response is not None:
            await super().send(message)  # what uvicorn does with a frame then; no ping
            return
        try:
            self.conn.send_text(text.encode())
            self.conn.send_ping(payload)
        except InvalidState as exc:
            raise ClientDisconnected() from exc
        self.transport.write(b"".join(self.conn.data_to_send()))

    def handle_pong(self, event: Frame) -> None:
        payload = bytes(event.data)
        if payload not in self.pings:
            super().handle_pong(event)  # the keepalive's
            return
        for sent in list(self.pings):
            answered = self.pings.pop(sent)
            if not answered.done():
                answered.set_result(None)
            if sent == payload:
                break

    def connection_lost(self, exc: Exception | None) -> None:
        for answered in self.pings.values():
            if not answered.done():
                answered.set_exception(ConnectionError("the websocket connection was lost"))
                # Read once here: a pong nobody awaits any more is no error worth a log line.
                answered.exception()
        self.pings.clear()
        super().connection_lost(exc)
