"""Request ids and the access log: the outermost layer every request passes.

    app.add_middleware(RequestLog, access="errors")

Each request gets an id: the client's `X-Request-Id` when it is sane, else a new one. It is put
into the ASGI scope (`scope[REQUEST_ID_KEY]`) and `edge.logs.REQUEST_ID`, and sent back as
`X-Request-Id` on every answer (websocket handshakes included). When the request is done one
access line is logged: method, path (never the query string: tokens may be there), status and
duration; a websocket gets its line when it closes, with the close code.

Which requests get a line is the setting `access_log`: "all", "errors" (the default: answered
4xx or 5xx, a refused websocket handshake, a websocket that failed) or "off". A line costs more
than the rest of this layer, so a service under load logs what needs a look, not every success.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signal_rest.edge.logs import ACCESS, REQUEST_ID, log_unexpected, printable, quiet_uvicorn

__all__ = ["REQUEST_ID_KEY", "RequestLog", "new_request_id"]

REQUEST_ID_KEY = "signal_rest.request_id"
HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")


# A new id: 16 hex digits, the first 8 random per process, then a counter. Unique within a
# run and (with overwhelming odds) across runs, without a system call per request.
_PREFIX = os.urandom(4).hex()
_COUNTER = itertools.count(int.from_bytes(os.urandom(3)))


def new_request_id() -> str:
    return f"{_PREFIX}{next(_COUNTER) & 0xFFFFFFFF:08x}"


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("ascii") if _SANE.fullmatch(value) else new_request_id()
    return new_request_id()


def _with_id(message: Message, header: tuple[bytes, bytes]) -> Message:
    return {**message, "headers": [*message.get("headers", ()), header]}


class RequestLog:
    """Gives each request an id and logs one line for it (see the module docstring)."""

    def __init__(self, app: ASGIApp, access: Literal["off", "errors", "all"] = "all") -> None:
        self.app = app
        self.access = access
        quiet_uvicorn()  # uvicorn's own request lines are replaced by these

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope[REQUEST_ID_KEY] = request_id
        token = REQUEST_ID.set(request_id)
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send, request_id)
            else:
                await self._websocket(scope, receive, send, request_id)
        finally:
            REQUEST_ID.reset(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        started = time.perf_counter()
        header = (HEADER, request_id.encode("ascii"))
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = _with_id(message, header)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The 500 handler outside this layer answers and logs the traceback.
            status = status or 500
            raise
        finally:
            if self.access == "all" or (
                self.access == "errors" and (status is None or status >= 400)
            ):
                _access(scope["method"], scope, status, started, request_id)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        started = time.perf_counter()
        header = (HEADER, request_id.encode("ascii"))
        status: int | None = None
        close_code: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status, close_code
            kind = message["type"]
            if kind == "websocket.accept":
                status = 101
                message = _with_id(message, header)
            elif kind == "websocket.http.response.start":
                status = message["status"]
                message = _with_id(message, header)
            elif kind == "websocket.close" and close_code is None:
                close_code = message.get("code", 1000)
                status = status or 403  # a close before the accept refuses the handshake
            await send(message)

        async def receive_code() -> Message:
            nonlocal close_code
            message = await receive()
            if message["type"] == "websocket.disconnect" and close_code is None:
                close_code = message.get("code", 1005)
            return message

        try:
            await self.app(scope, receive_code, send_with_id)
        except Exception as exc:
            log_unexpected(ACCESS, exc, request_id, "websocket failed")
            close_code = close_code or 1011
            raise
        finally:
            if self.access == "all" or (self.access == "errors" and _failed(status, close_code)):
                _access("WEBSOCKET", scope, status, started, request_id, close_code)


def _failed(status: int | None, close_code: int | None) -> bool:
    # A refused handshake, or a socket this side closed because something went wrong (1011),
    # or that ended before it was accepted.
    return status is None or status >= 400 or close_code == 1011


def _access(
    method: str,
    scope: Scope,
    status: int | None,
    started: float,
    request_id: str,
    close_code: int | None = None,
) -> None:
    if not ACCESS.isEnabledFor(logging.INFO):
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    path = printable(scope["path"])
    fields = {
        "request_id": request_id,
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
    }
    shown = "-" if status is None else status
    if close_code is None:
        ACCESS.info("%s %s %s %.1f ms", method, path, shown, duration_ms, extra=fields)
    else:
        ACCESS.info(
            "%s %s %s closed %d after %.1f ms",
            method,
            path,
            shown,
            close_code,
            duration_ms,
            extra={**fields, "close_code": close_code},
        )
