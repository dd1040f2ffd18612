"""`GET /api/v1/events`: signal-cli's Server-Sent Events stream (`daemon --http`), from the inbox.

Answered as signal-cli answers it: 200 `text/event-stream` with an `event:receive` for each
message (`data:` the `{"envelope", "account"}` object) and a `:` comment every
`events_keepalive` seconds; `?account=` reads one account (400 with no body when it is not
one of the daemon's), otherwise every account; 405 with no body for other methods. On top,
each event carries the message's inbox id (`id:`): a client that reconnects with
`Last-Event-ID` (or `?last_event_id=`) gets what came after it, nothing twice. `?consumer=`
makes the stream a named consumer: its position is stored, and the inbox keeps its messages
for it while it is away. Without either, a stream starts with the next message.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request, Response

from signal_rest.api.deps import BackendDep
from signal_rest.api.schemas import Responses, errors
from signal_rest.api.signal_cli_http import CHECK_TIMEOUT, wrong_method
from signal_rest.auth.guard import allowed_accounts
from signal_rest.backend import Backend
from signal_rest.domain.consumers import ack_id, consumer_name
from signal_rest.errors import DaemonError, Forbidden
from signal_rest.inbox.consumers import ALL
from signal_rest.inbox.events import MEDIA_TYPE, EventStream

__all__ = ["router"]

router = APIRouter(tags=["signal-cli"])

_STREAM: Responses = {
    200: {
        "description": "Server-Sent Events, until the client goes away: `id:<inbox id>`, "
        "`event:receive` and `data:<the message as one line of JSON>` for each message, a `:` "
        "line every SIGNAL_REST_EVENTS_KEEPALIVE seconds (15)",
        "content": {MEDIA_TYPE: {"schema": {"type": "string"}}},
    }
}
_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "account",
        "in": "query",
        "required": False,
        "description": "Only this account's messages (an unknown account: 400 with no body, "
        "as signal-cli answers); default every account",
        "schema": {"type": "string"},
    },
    {
        "name": "consumer",
        "in": "query",
        "required": False,
        "description": "A name for this client: its position is kept while it is away",
        "schema": {"type": "string"},
    },
    {
        "name": "last_event_id",
        "in": "query",
        "required": False,
        "description": "Resume after this event id (the Last-Event-ID header wins)",
        "schema": {"type": "string"},
    },
    {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "description": "Resume after this event id, as a browser's EventSource sends it",
        "schema": {"type": "string"},
    },
]


def _query(raw: bytes) -> dict[str, str]:
    """The query as signal-cli splits it (`&`, then `=`), but with `+` kept as a `+`: signal-cli
    decodes it to a space, so `?account=+49…` finds no account there."""
    query: dict[str, str] = {}
    for part in raw.decode("latin-1").split("&"):
        name, _, value = part.partition("=")
        if name:
            query[unquote(name)] = unquote(value)
    return query


async def _is_account(backend: Backend, number: str) -> bool:
    """Whether `number` is one of the daemon's accounts. While the daemon cannot say, the inbox
    (which works without it) is read for whatever number was asked for."""
    timeout = min(CHECK_TIMEOUT, backend.settings.rpc_timeout)
    try:
        return number in await backend.accounts.listed(timeout=timeout)
    except DaemonError:
        return True


async def _after(request: Request, backend: Backend, query: dict[str, str]) -> int | None:
    # The header is the newer: EventSource keeps the URL of the first connect.
    header = request.headers.get("last-event-id") or None
    after = ack_id(header, name="Last-Event-ID") if header is not None else None
    if after is None:
        after = ack_id(query.get("last_event_id") or None, name="last_event_id")
    if after is None:
        return None
    # An id from before the inbox was reset would skip every message up to it.
    return min(after, await backend.inbox.store.newest())


@router.get(
    "/api/v1/events",
    summary="signal-cli's event stream: each received message as a Server-Sent Event",
    response_model=None,
    response_class=Response,
    openapi_extra={"parameters": _PARAMETERS},
    responses=_STREAM | errors(400, 403),
)
async def events(request: Request, backend: BackendDep) -> Response:
    if request.method != "GET":  # HEAD: signal-cli's server answers it with 405
        return wrong_method(request.method)
    query = _query(request.scope["query_string"])
    number = query.get("account") or None
    name = consumer_name(query.get("consumer") or None)
    after = await _after(request, backend, query)
    allowed = allowed_accounts(request)
    if number is not None:
        if allowed is not None and number not in allowed:
            raise Forbidden(f"This API token may not act for account {number}")
        if not await _is_account(backend, number):
            return Response(status_code=400)  # signal-cli's answer: no body
        allowed = None
    consumers = backend.inbox.consumers
    leaving = contextlib.AsyncExitStack()
    if name is None:
        cursor = await consumers.open(None, number or ALL, kind="sse", after=after)
    else:
        # Connected while the stream lasts: seen meanwhile, so it never counts as gone.
        opening = consumers.connected(name, number or ALL, kind="sse", after=after)
        cursor = await leaving.enter_async_context(opening)
    return EventStream(
        cursor,
        keepalive=backend.settings.events_keepalive,
        stopping=request.app.state.stopping,
        accounts=allowed,
        leaving=leaving,
    )
