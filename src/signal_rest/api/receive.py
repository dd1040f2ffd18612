"""`GET /v1/receive/{number}`: a JSON-array poll over plain HTTP, a live stream as a websocket.

Both read the durable inbox, so messages that arrived while nobody asked are still there, across
restarts. The Go project's query parameters are validated with its texts and honoured: `timeout`
(seconds to wait when nothing is pending), `max_messages`, `ignore_stories` (story messages are
skipped), `send_read_receipts`; `ignore_attachments`/`ignore_avatars`/`ignore_stickers` concern
downloads, which the daemon flags of the same names control. The websocket accepts any query
string and honours `max_messages` (it sends no more than that many frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from signal_rest.api.deps import BackendDep, account, query_flag
from signal_rest.backend import Backend
from signal_rest.errors import SignalApiError, ValidationError
from signal_rest.inbox.delivery import Stream
from signal_rest.inbox.store import StoredMessage

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


def _is_story(message: dict[str, Any]) -> bool:
    envelope = message.get("envelope")
    return isinstance(envelope, dict) and "storyMessage" in envelope


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


@router.get(
    "/v1/receive/{number}",
    summary="Receive Signal Messages",
    responses={200: {"description": 'array of {"envelope": …, "account": …}'}},
)
async def receive(number: str, request: Request, backend: BackendDep) -> JSONResponse:
    query = request.query_params
    timeout = _number(query.get("timeout"), 1, "timeout")
    max_messages = _number(query.get("max_messages"), 0, "max_messages")
    flags = {name: query_flag(request, name) for name in FLAGS}
    taken = await backend.inbox.poll(account(number), limit=max_messages or None, timeout=timeout)
    if flags["ignore_stories"]:
        taken = [m for m in taken if not _is_story(m.message)]
    if flags["send_read_receipts"]:
        await _send_read_receipts(backend, taken)
    return JSONResponse([m.message for m in taken])


async def _until_closed(websocket: WebSocket) -> None:
    # Frames from the client are read and dropped; this returns when the client goes away.
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return


async def _send(
    websocket: WebSocket, stream: Stream, stored: StoredMessage, *, skip_stories: bool
) -> int:
    """Send one frame and count it; a story the client asked to skip is taken but not sent."""
    if skip_stories and _is_story(stored.message):
        await stream.delivered(stored)
        return 0
    await websocket.send_text(json.dumps(stored.message, ensure_ascii=False))
    await stream.delivered(stored)
    return 1


async def _stream(
    websocket: WebSocket, stream: Stream, limit: int | None, *, skip_stories: bool
) -> None:
    closed = asyncio.create_task(_until_closed(websocket))
    try:
        sent = 0
        for stored in await stream.backlog(limit):
            sent += await _send(websocket, stream, stored, skip_stories=skip_stories)
        while limit is None or sent < limit:
            next_message = asyncio.ensure_future(stream.get())
            await asyncio.wait({next_message, closed}, return_when=asyncio.FIRST_COMPLETED)
            if closed.done():
                next_message.cancel()
                return
            sent += await _send(websocket, stream, next_message.result(), skip_stories=skip_stories)
        # After `max_messages` frames nothing more is sent: a client such as pysignalclirestapi
        # closes once it has that many, and whatever it was sent on top would be lost. Later
        # messages wait for the next consumer.
        stream.close()
        await closed
    finally:
        closed.cancel()


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
        await websocket.close(code=1008, reason=exc.message)
        return
    limit = _ws_limit(websocket.query_params.get("max_messages"))
    skip_stories = websocket.query_params.get("ignore_stories") == "true"
    sockets: set[WebSocket] = websocket.app.state.websockets
    # Subscribed before the handshake completes, so no message passes a client that has just
    # connected; the backlog is read after subscribing, so none falls between the two. The inbox
    # hands each message to the websockets or to the REST poll, never to both.
    with backend.inbox.stream(number) as stream:
        await websocket.accept()
        sockets.add(websocket)
        try:
            await _stream(websocket, stream, limit, skip_stories=skip_stories)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client went away mid-send; the message stays pending for the next consumer
        finally:
            sockets.discard(websocket)


async def close_websockets(app: FastAPI) -> None:
    """On shutdown: close every open receive websocket with 1012 (service restart):
    signalbot ends its receive loop for good on a clean 1000/1001 but reconnects after 1012."""
    for websocket in list(app.state.websockets):
        with contextlib.suppress(Exception):
            await websocket.close(code=1012)
