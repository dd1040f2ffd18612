"""Feeding one Server-Sent Events response (`GET /api/v1/events`) from a consumer's cursor.

    cursor = await inbox.consumers.open(None, "*", kind="sse", after=last_event_id)
    return EventStream(cursor, keepalive=15.0, stopping=app.state.stopping, accounts=None)

Each message goes out as signal-cli's `daemon --http` writes it, plus an `id:` line with the
inbox's id of the message, so a client that reconnects with `Last-Event-ID` resumes right after
the last event it got:

    id:42
    event:receive
    data:{"envelope":{…},"account":"+4915…"}

and every `keepalive` seconds a comment line `:`. Messages are read a page at a time and the
next page only once the last one was handed to the server, so a slow client holds one page in
memory, however far behind it is. A named consumer's position moves past each page once it was
written: a reconnect without `Last-Event-ID` resumes there. Bytes a client never read are lost
to it then (at most once); with `Last-Event-ID` nothing is lost or repeated.

The response ends when the client goes away or when `stopping` is set (the server shuts down):
then with the end of the chunked body, unless the client stopped reading and a write is stuck:
then its connection is dropped (`signal_rest.protocols.http.ABORT`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable
from typing import Any

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from signal_rest.inbox.consumers import Cursor
from signal_rest.inbox.store import StoredMessage
from signal_rest.protocols.http import ABORT

__all__ = ["KEEP_ALIVE", "MEDIA_TYPE", "PAGE", "EventStream", "event"]

# signal-cli sends exactly this Content-Type, without a charset (SSE is always UTF-8).
MEDIA_TYPE = "text/event-stream"
KEEP_ALIVE = b":\n"
# Messages read from the inbox at a time.
PAGE = 100
# How long the last, empty chunk may take to go out once the stream is to end.
_CLOSE_GRACE = 1.0


def event(stored: StoredMessage) -> bytes:
    """One `receive` event: the message in one line of compact JSON, as signal-cli's Jackson
    writes it, after the message's inbox id."""
    try:
        data = json.dumps(stored.message, ensure_ascii=False, separators=(",", ":"))
        body = data.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a \\ud800 escape: keep it escaped
        body = json.dumps(stored.message, separators=(",", ":")).encode("ascii")
    return b"id:%d\nevent:receive\ndata:%s\n\n" % (stored.id, body)


class EventStream(Response):
    """The never-ending answer to `GET /api/v1/events`: `cursor`'s messages, of `accounts`
    only when given (a token limited to some accounts reading every account's stream).
    `leaving` is closed when the response ends (a named consumer's `connected`)."""

    def __init__(
        self,
        cursor: Cursor,
        *,
        keepalive: float,
        stopping: asyncio.Event,
        accounts: tuple[str, ...] | None = None,
        page: int = PAGE,
        leaving: contextlib.AsyncExitStack | None = None,
    ) -> None:
        super().__init__(status_code=200, headers={"Content-Type": MEDIA_TYPE})
        del self.headers["content-length"]  # chunked: it has no end
        self._cursor = cursor
        self._keepalive = keepalive
        self._stopping = stopping
        self._accounts = accounts
        self._page = page
        self._leaving = leaving or contextlib.AsyncExitStack()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ended = asyncio.ensure_future(_until_ended(receive, self._stopping))
        try:
            async with self._leaving:
                if not await self._respond(send, ended):
                    # A client that stopped reading would keep the connection open until it
                    # reads what is buffered for it (and so hold up a shutdown): drop it.
                    abort = scope.get("extensions", {}).get(ABORT, {}).get("abort")
                    if abort is not None:
                        abort()
                        await asyncio.sleep(0)  # let the server see it before the app returns
        finally:
            ended.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ended

    async def _respond(self, send: Send, ended: asyncio.Future[None]) -> bool:
        """Stream, then end the response; False when the client stopped reading."""
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        if not await self._stream(send, ended):
            return False
        try:
            body: Message = {"type": "http.response.body", "body": b""}
            await asyncio.wait_for(send(body), _CLOSE_GRACE)
        except TimeoutError:
            return False
        return True

    async def _stream(self, send: Send, ended: asyncio.Future[None]) -> bool:
        """Write events and keep-alives until `ended`; False when a write was cut off."""
        loop = asyncio.get_running_loop()
        due = loop.time() + self._keepalive
        while not ended.done():
            wait = max(0.0, due - loop.time())
            found = await self._cursor.next(self._page, timeout=wait, gone=ended)
            if ended.done():
                return True
            chunk = b"".join(event(m) for m in found if self._shows(m))
            if loop.time() >= due:
                chunk += KEEP_ALIVE
                due = loop.time() + self._keepalive
            if chunk:
                body: Message = {"type": "http.response.body", "body": chunk, "more_body": True}
                if not await _unless(ended, send(body)):
                    return False
            if found and self._cursor.name is not None:
                # At most once per name: not even after a machine crash again.
                await self._cursor.ack(found[-1].id, sync=True)
        return True

    def _shows(self, stored: StoredMessage) -> bool:
        return self._accounts is None or stored.account in self._accounts


async def _until_ended(receive: Receive, stopping: asyncio.Event) -> None:
    """Returns when the client goes away or the server begins to stop."""
    stop = asyncio.ensure_future(stopping.wait())
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait({stop, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (stop, gone):
            task.cancel()
        await asyncio.gather(stop, gone, return_exceptions=True)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass  # a request body nobody asked for


async def _unless(ended: asyncio.Future[None], write: Awaitable[Any]) -> bool:
    """Run `write` unless the stream ends first (a client that stopped reading cannot hold up
    the shutdown); False when it was cut off."""
    writing = asyncio.ensure_future(write)
    try:
        await asyncio.wait({writing, ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not writing.done():
            writing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writing
    if writing.cancelled():
        return False
    writing.result()  # the write's own error, if it failed
    return True
