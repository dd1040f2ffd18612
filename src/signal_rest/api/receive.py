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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from signal_rest.api.deps import BackendDep, account, query_flag
from signal_rest.api.envelopes import ReceivedMessage
from signal_rest.api.schemas import errors, ok
from signal_rest.backend import Backend
from signal_rest.config import Settings
from signal_rest.edge.responses import refuse
from signal_rest.errors import SignalApiError, ValidationError
from signal_rest.inbox.delivery import Batch
from signal_rest.inbox.store import StoredMessage
from signal_rest.inbox.websocket import feed, is_story

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


class _Delivery(JSONResponse):
    """The poll's answer: its batch counts as delivered only once the body was handed to a
    client that is still connected (uvicorn drops what is sent to a gone client, silently);
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
        super().__init__([m.message for m in messages])
        self._batch = batch
        self._gone = gone
        self._after = after
        self._sent = messages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        delivered = False
        try:
            if not self._gone.done():
                await super().__call__(scope, receive, send)
                # Sending the last body part completes the response and wakes the watch as
                # well, but only on the next turn of the loop: done now means gone before.
                delivered = not self._gone.done()
        finally:
            self._gone.cancel()
            if not delivered:
                self._batch.release()
        if not delivered:
            return
        await self._batch.delivered()
        if self._after is not None:
            await self._after(self._sent)


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
    gone = asyncio.create_task(_disconnected(request.receive))
    try:
        batch = await backend.inbox.poll(
            account(number), limit=max_messages or None, timeout=timeout, gone=gone
        )
    except BaseException:
        gone.cancel()
        raise

    async def read_receipts(messages: list[StoredMessage]) -> None:
        await _send_read_receipts(backend, messages)

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
    except ValidationError as exc:
        # The same 400 {"error"} as the poll, as the handshake's answer.
        await refuse(websocket.scope, websocket.receive, websocket.send, exc)
        return
    limit = _ws_limit(websocket.query_params.get("max_messages"))
    skip_stories = websocket.query_params.get("ignore_stories") == "true"
    sockets: set[WebSocket] = websocket.app.state.websockets
    settings: Settings = websocket.app.state.settings
    # Subscribed before the handshake completes, so no message passes a client that has just
    # connected; the backlog is read after subscribing, so none falls between the two. The inbox
    # hands each message to the websockets or to the REST poll, never to both.
    with backend.inbox.stream(number, bound=settings.websocket_queue) as stream:
        await websocket.accept()
        sockets.add(websocket)
        try:
            await feed(
                websocket,
                stream,
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
