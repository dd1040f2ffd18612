"""Refusing a request at the edge, with the one error body.

    await refuse(scope, receive, send, Forbidden("Origin http://evil.example is not allowed"))

Over HTTP it answers `{"error": ...}` with the error's status; a websocket handshake gets the
same HTTP answer instead of the upgrade (the ASGI websocket denial response), or a plain 403
where the server cannot send one.
"""

from __future__ import annotations

import json

from starlette.types import Receive, Scope, Send

from signal_rest.errors import SignalApiError

__all__ = ["error_headers", "refuse"]


def error_headers(exc: SignalApiError, length: int) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(length).encode()),
    ]
    for name, value in exc.headers().items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return headers


async def refuse(scope: Scope, receive: Receive, send: Send, exc: SignalApiError) -> None:
    """Answer the request in `scope` with `exc` instead of passing it on."""
    body = json.dumps(exc.body(), ensure_ascii=False).encode()
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1008, "reason": exc.message[:120]})
            return
        start_type, body_type = "websocket.http.response.start", "websocket.http.response.body"
    else:
        start_type, body_type = "http.response.start", "http.response.body"
    await send({"type": start_type, "status": exc.status, "headers": error_headers(exc, len(body))})
    await send({"type": body_type, "body": body})
