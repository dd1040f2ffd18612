"""`GET /v1/receive/{number}`: a JSON-array poll over plain HTTP, a live stream as a websocket.

Both read the durable inbox, so messages that arrived while nobody asked are still there, across
restarts. The Go project's query parameters are validated with its texts and honoured: `timeout`
(seconds to wait when nothing is pending), `max_messages`, `ignore_stories` (story messages are
skipped), `send_read_receipts`; `ignore_attachments`/`ignore_avatars`/`ignore_stickers` concern
downloads, which the daemon flags of the same names control. The websocket accepts any query
string and honours `max_messages` (it sends no more than that many frames).

A poll takes messages only when its response reaches the client: one that goes away while
waiting takes nothing, and what was sent to a client gone meanwhile is pending again. Read
receipts go out for what was delivered, after the response. The websocket's guarantee is in
`signal_rest.inbox.websocket`.

Beyond the Go project: `consumer=NAME` makes the client a named consumer that gets every message
of the account on its own (`inbox.consumers`); with `ack=true` each message carries its `id` and
counts as done only once acked (`acked=<id>` on the next poll, `{"ack": <id>}` frames on the
websocket, see `inbox.named_websocket`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from signal_rest.api.deps import BackendDep, account, query_flag
from signal_rest.api.envelopes import ReceivedMessage
from signal_rest.api.responses import JSONResponse
from signal_rest.api.schemas import errors, ok
from signal_rest.backend import Backend
from signal_rest.config import Settings
from signal_rest.domain.consumers import ack_id, consumer_name
from signal_rest.edge.responses import refuse
from signal_rest.errors import SignalApiError, ValidationError
from signal_rest.inbox.consumers import UNNAMED, Cursor
from signal_rest.inbox.delivery import Batch
from signal_rest.inbox.named_websocket import CursorFeed, feed_acked, with_id
from signal_rest.inbox.store import StoredMessage
from signal_rest.inbox.websocket import Feed, feed, is_story

__all__ = ["close_websockets", "router"]

log = logging.getLogger(__name__)
router = APIRouter(tags=["Messages"])

FLAGS = (
    "ignore_attachments",
    "ignore_stories",
    "ignore_avatars",
    "ignore_stickers",
    "send_read_receipts",
)


def _number(value: str | None, default: int, name: str) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0 or number > 2**31 - 1:
        raise ValidationError(f"Couldn't process request - {name} needs to be numeric!")
    return number


async def _send_read_receipts(backend: Backend, messages: list[StoredMessage]) -> None:
    for stored in messages:
        envelope = stored.message.get("envelope") or {}
        source = envelope.get("sourceUuid") or envelope.get("sourceNumber")
        if "dataMessage" not in envelope or not source:
            continue
        try:
            await backend.rpc.call(
                "sendReceipt",
                {
                    "account": stored.account,
                    "recipient": source,
                    "targetTimestamp": [envelope["timestamp"]],
                    "type": "read",
                },
            )
        except SignalApiError as exc:
            log.warning("read receipt to %s failed: %s", source, exc.message)


async def _disconnected(receive: Receive) -> None:
    """Returns when the HTTP client goes away before its response is complete."""
    try:
        while (await receive())["type"] != "http.disconnect":
            pass  # a body nobody asked for
    except Exception:
        # Whatever wraps `receive` refused to read on: the client's departure cannot be seen,
        # so it counts as present (as it did before this watch existed).
        await asyncio.Event().wait()


class _Answer(JSONResponse):
    """A poll's answer: sent only to a client that is still connected (uvicorn drops what is
    sent to a gone client, silently)."""

    def __init__(self, content: list[dict[str, Any]], gone: asyncio.Task[None]) -> None:
        super().__init__(content)
        self._gone = gone

    async def _hand_over(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Send the body: True when it reached a client that is still connected."""
        try:
            if self._gone.done():
                return False
            await super().__call__(scope, receive, send)
            # Sending the last body part completes the response and wakes the watch as well,
            # but only on the next turn of the loop: done now means gone before.
            return not self._gone.done()
        finally:
            self._gone.cancel()


class _Delivery(_Answer):
    """An unnamed poll's answer: its batch counts as delivered only once handed over;
    otherwise the messages are pending again."""

    def __init__(
        self,
        batch: Batch,
        gone: asyncio.Task[None],
        *,
        skip_stories: bool,
        after: Callable[[list[StoredMessage]], Awaitable[None]] | None,
    ) -> None:
        messages = [m for m in batch.messages if not (skip_stories and is_story(m.message))]
        super().__init__([m.message for m in messages], gone)
        self._batch = batch
        self._after = after
        self._sent = messages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        delivered = False
        try:
            delivered = await self._hand_over(scope, receive, send)
        finally:
            if not delivered:
                self._batch.release()
        if not delivered:
            return
        await self._batch.delivered()
        if self._after is not None:
            await self._after(self._sent)


class _ConsumerDelivery(_Answer):
    """A named consumer's poll answer. Without acks its position moves past the messages once
    the body was handed over; with acks (each message then has its `id`) only the client's
    `acked=` moves it. The consumer's turn ends with the response."""

    def __init__(
        self,
        cursor: Cursor,
        messages: list[StoredMessage],
        gone: asyncio.Task[None],
        turn: asyncio.Lock,
        *,
        acks: bool,
        skip_stories: bool,
        after: Callable[[list[StoredMessage]], Awaitable[None]] | None,
    ) -> None:
        shown = [m for m in messages if not (skip_stories and is_story(m.message))]
        super().__init__([with_id(m) if acks else m.message for m in shown], gone)
        self._cursor = cursor
        self._messages = messages
        self._shown = shown
        self._turn = turn
        self._acks = acks
        self._after = after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        delivered = False
        try:
            delivered = await self._hand_over(scope, receive, send)
            if delivered and self._messages and not self._acks:
                # At most once: not even a machine crash may hand these out again.
                await self._cursor.ack(self._messages[-1].id, sync=True)
        finally:
            self._turn.release()
        if delivered and self._after is not None:
            await self._after(self._shown)


async def _consumer_poll(
    backend: Backend,
    number: str,
    name: str,
    *,
    acks: bool,
    acked: int | None,
    limit: int | None,
    timeout: float,
    gone: asyncio.Task[None],
) -> tuple[Cursor, list[StoredMessage], asyncio.Lock]:
    # Polls of one consumer take turns: each starts where the last one left off.
    consumers = backend.inbox.consumers
    turn = consumers.exclusive(name, number)
    await turn.acquire()
    try:
        cursor = await consumers.open(name, number, kind="poll")
        if acked is not None:
            await cursor.ack(acked)
        messages = await cursor.next(limit=limit, timeout=timeout, gone=gone)
        if acks:
            # Stories right after the last ack are done at once: nothing before them is out.
            skipped = 0
            while skipped < len(messages) and is_story(messages[skipped].message):
                skipped += 1
            if skipped:
                await cursor.ack(messages[skipped - 1].id)
    except BaseException:
        turn.release()
        raise
    return cursor, messages, turn


def _consumer_options(
    query: dict[str, str], *, websocket: bool
) -> tuple[str | None, bool, int | None]:
    """`consumer`, `ack` and `acked` of a receive request, checked."""
    name = consumer_name(query.get("consumer"))
    value = query.get("ack")
    if value not in (None, "true", "false"):
        raise ValidationError(f"ack must be true or false, not {value[:80]!r}")
    acks = value == "true"
    acked = None if websocket else ack_id(query.get("acked"))
    if (acks or acked is not None) and name is None:
        raise ValidationError(
            "acks are kept per named consumer: add consumer=<a name for this client>"
        )
    return name, acks, acked


@router.get(
    "/v1/receive/{number}",
    summary="Receive Signal Messages",
    responses=ok(
        list[ReceivedMessage],
        description="The messages that arrived, oldest first, as signal-cli emits them",
    )
    | errors(400),
)
async def receive(number: str, request: Request, backend: BackendDep) -> Response:
    query = request.query_params
    timeout = _number(query.get("timeout"), 1, "timeout")
    max_messages = _number(query.get("max_messages"), 0, "max_messages")
    flags = {name: query_flag(request, name) for name in FLAGS}
    name, acks, acked = _consumer_options(dict(query), websocket=False)
    number = account(number)

    async def read_receipts(messages: list[StoredMessage]) -> None:
        await _send_read_receipts(backend, messages)

    gone = asyncio.create_task(_disconnected(request.receive))
    if name is not None:
        try:
            cursor, messages, turn = await _consumer_poll(
                backend,
                number,
                name,
                acks=acks,
                acked=acked,
                limit=max_messages or None,
                timeout=timeout,
                gone=gone,
            )
        except BaseException:
            gone.cancel()
            raise
        return _ConsumerDelivery(
            cursor,
            messages,
            gone,
            turn,
            acks=acks,
            skip_stories=flags["ignore_stories"],
            after=read_receipts if flags["send_read_receipts"] else None,
        )
    try:
        await backend.inbox.consumers.seen_unnamed(number)
        batch = await backend.inbox.poll(
            number, limit=max_messages or None, timeout=timeout, gone=gone
        )
    except BaseException:
        gone.cancel()
        raise

    return _Delivery(
        batch,
        gone,
        skip_stories=flags["ignore_stories"],
        after=read_receipts if flags["send_read_receipts"] else None,
    )


def _ws_limit(value: str | None) -> int | None:
    # Query strings on the websocket are accepted and never rejected (the Go project ignores
    # them); a valid positive max_messages is honoured.
    try:
        return _number(value, 0, "max_messages") or None
    except ValidationError:
        return None


@router.websocket("/v1/receive/{number}")
async def receive_websocket(websocket: WebSocket, number: str) -> None:
    backend: Backend = websocket.app.state.backend
    try:
        number = account(number)
        name, acks, _ = _consumer_options(dict(websocket.query_params), websocket=True)
    except ValidationError as exc:
        # The same 400 {"error"} as the poll, as the handshake's answer.
        await refuse(websocket.scope, websocket.receive, websocket.send, exc)
        return
    limit = _ws_limit(websocket.query_params.get("max_messages"))
    skip_stories = websocket.query_params.get("ignore_stories") == "true"
    sockets: set[WebSocket] = websocket.app.state.websockets
    settings: Settings = websocket.app.state.settings
    consumers = backend.inbox.consumers
    async with contextlib.AsyncExitStack() as stack:
        # Subscribed before the handshake completes, so no message passes a client that has
        # just connected; the backlog is read after subscribing, so none falls between the two.
        # The inbox hands each of an account's messages to its unnamed websockets or to a REST
        # poll, never to both; named consumers each get every message.
        cursor: Cursor | None = None
        source: Feed | None = None
        if name is None:
            await stack.enter_async_context(consumers.connected(UNNAMED, number, kind="unnamed"))
            source = stack.enter_context(
                backend.inbox.stream(number, bound=settings.websocket_queue)
            )
        else:
            cursor = await stack.enter_async_context(
                consumers.connected(name, number, kind="websocket")
            )
            if not acks:
                source = CursorFeed(cursor, settings.websocket_queue)
        await websocket.accept()
        sockets.add(websocket)
        try:
            if source is not None:
                await feed(
                    websocket,
                    source,
                    limit=limit,
                    skip_stories=skip_stories,
                    write_timeout=settings.websocket_write_timeout,
                )
            elif cursor is not None:
                await feed_acked(
                    websocket,
                    cursor,
                    bound=settings.websocket_queue,
                    ack_timeout=settings.ack_timeout,
                    limit=limit,
                    skip_stories=skip_stories,
                    write_timeout=settings.websocket_write_timeout,
                )
        finally:
            sockets.discard(websocket)


async def close_websockets(app: FastAPI) -> None:
    """On shutdown: close every open receive websocket with 1012 (service restart):
    signalbot ends its receive loop for good on a clean 1000/1001 but reconnects after 1012."""
    for websocket in list(app.state.websockets):
        with contextlib.suppress(Exception):
            await websocket.close(code=1012)
