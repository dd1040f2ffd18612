"""Frames confirmed by pongs, while the next frames go out.

    confirmations = Confirmations(stream, pings, write_timeout)
    confirming = asyncio.create_task(confirmations.run())   # raises Stuck on a late pong
    ...
    confirmations.ping(sent)        # after a burst: a ping now; `sent` count once it is answered
    await send(confirmations.ping_behind(frame, sent))   # the same, the ping behind `frame`
    confirmations.finish()          # no more pings: `run` returns once every one is answered

A ping follows each burst of frames and its pong proves the client read them, but the sender
does not wait for it: a message that arrives meanwhile goes out at once, so a client that is
far away (or slow to answer) gets messages as they come, not one burst per round trip. What
is out and not confirmed stays held by the feed (at most its bound), and a pong that does not
come within `write_timeout` seconds of its ping means the client is stuck.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any, Protocol

from signal_rest.inbox.store import StoredMessage
from signal_rest.protocols.websocket import PING_AFTER, Pings

__all__ = ["Confirmations", "Delivered", "Stuck"]


class Stuck(Exception):
    """The client did not take a frame or answer a ping in time."""


class Delivered(Protocol):
    async def delivered(self, messages: list[StoredMessage]) -> None: ...


class Confirmations:
    def __init__(self, stream: Delivered, pings: Pings, write_timeout: float) -> None:
        self._stream = stream
        self._pings = pings
        self._write_timeout = write_timeout
        # (pong, deadline, the frames it confirms), in the order the pings went out.
        self._waiting: collections.deque[
            tuple[asyncio.Future[None], float, list[StoredMessage]]
        ] = collections.deque()
        self._changed = asyncio.Event()
        self._finishing = False

    def ping(self, messages: list[StoredMessage]) -> None:
        """A ping now, behind every frame sent so far; `messages` are delivered on its pong.
        Raises ConnectionError when the websocket is closed."""
        self._wait_for(self._pings.send(), messages)

    def _wait_for(self, pong: asyncio.Future[None], messages: list[StoredMessage]) -> None:
        deadline = asyncio.get_running_loop().time() + self._write_timeout
        self._waiting.append((pong, deadline, messages))
        self._changed.set()

    def ping_behind(self, frame: str, messages: list[StoredMessage]) -> dict[str, Any]:
        """`ping`, with the ping written behind `frame`, in the same write: the ASGI message
        to send. Raises ConnectionError when the websocket is closed."""
        payload, pong = self._pings.prepare()
        self._wait_for(pong, messages)
        return {"type": "websocket.send", "text": frame, PING_AFTER: payload}

    def finish(self) -> None:
        """No more pings: `run` returns once those sent are answered."""
        self._finishing = True
        self._changed.set()

    async def run(self) -> None:
        """Deliver each ping's frames on its pong, in order (those of pongs that came while a
        delivery was being committed, together). Raises Stuck when a pong is late,
        ConnectionError when the connection ends first."""
        while True:
            if not self._waiting:
                if self._finishing:
                    return
                self._changed.clear()
                await self._changed.wait()
                continue
            pong, deadline, messages = self._waiting[0]
            try:
                async with asyncio.timeout_at(deadline):
                    await asyncio.shield(pong)
            except TimeoutError as exc:
                raise Stuck() from exc
            self._waiting.popleft()
            # With them, the frames of every later ping already answered: a delivery waits for
            # a commit, and one per ping fell behind a client answering a ping per message.
            while self._waiting and _answered(self._waiting[0][0]):
                messages = messages + self._waiting.popleft()[2]
            await self._stream.delivered(messages)

    async def deliver_answered(self) -> None:
        """Once `run` is stopped: deliver the frames whose pong came (a client that answered
        and then went away read them)."""
        answered: list[StoredMessage] = []
        while self._waiting and _answered(self._waiting[0][0]):
            answered.extend(self._waiting.popleft()[2])
        if answered:
            await self._stream.delivered(answered)

    async def deliver_all(self, unpinged: list[StoredMessage]) -> None:
        """Once `run` is stopped: every frame sent counts as read, with `unpinged`, those sent
        after them that no ping followed (the client closed the websocket itself after getting
        all it asked for)."""
        sent = [m for _pong, _deadline, messages in self._waiting for m in messages] + unpinged
        self._waiting.clear()
        if sent:
            await self._stream.delivered(sent)


def _answered(pong: asyncio.Future[None]) -> bool:
    return pong.done() and not pong.cancelled() and pong.exception() is None
