"""A deadline for request bodies: the whole body must arrive within `body_timeout` seconds of
the headers, however slowly it trickles in.

    app.add_middleware(BodyDeadline, timeout=settings.body_timeout)

The deadline is fixed when the request starts, so a client sending a byte now and then cannot
extend it. A route waiting for more of the body past it gets `RequestTimeout` from `receive`,
which its error handling renders as 408 `{"error"}` (with `Connection: close`). Once the body
is complete, `receive` is passed through untouched: waiting for a disconnect has no deadline.
The headers' own deadline is kept by `signal_rest.protocols.http`.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signal_rest.errors import RequestTimeout

__all__ = ["BodyDeadline"]


class BodyDeadline:
    def __init__(self, app: ASGIApp, *, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            # Without Content-Length or Transfer-Encoding a request has no body to wait for.
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        complete = False

        async def receive_in_time() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"The request body did not arrive within {self.timeout:g} seconds"
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, receive_in_time, send)


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False
