"""A deadline for request bodies: the whole body must arrive within `body_timeout` seconds of
the headers, however slowly it trickles in.

    if has_body(scope):
        receive = body_deadline(receive, settings.body_timeout)   # in the edge (edge.stack)

The deadline is fixed when the request starts, so a client sending a byte now and then cannot
extend it. A route waiting for more of the body past it gets `RequestTimeout` from `receive`,
which its error handling renders as 408 `{"error"}` (with `Connection: close`). Once the body
is complete, `receive` is passed through untouched: waiting for a disconnect has no deadline.
The headers' own deadline is kept by `signal_rest.protocols.http`.
"""

from __future__ import annotations

import asyncio

from starlette.types import Message, Receive, Scope

from signal_rest.errors import RequestTimeout

__all__ = ["body_deadline", "has_body"]


def body_deadline(receive: Receive, timeout: float) -> Receive:
    """`receive` for a request with a body: its whole body within `timeout` seconds from now
    (`receive` itself when the body is here already)."""
    if _arrived(receive):
        return receive
    deadline = asyncio.get_running_loop().time() + timeout
    complete = False

    async def receive_in_time() -> Message:
        nonlocal complete
        if complete or _arrived(receive):
            return await receive()
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise RequestTimeout(
                f"The request body did not arrive within {timeout:g} seconds"
            ) from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            complete = True
        return message

    return receive_in_time


def _arrived(receive: Receive) -> bool:
    # uvicorn's `receive` is a method of the request's cycle, whose `more_body` turns False once
    # the whole body is in its buffer: then `receive` can't wait, and needs no timer. (Most
    # bodies arrive with their headers.) Anything else is waited for under the deadline.
    return getattr(getattr(receive, "__self__", None), "more_body", True) is False


def has_body(scope: Scope) -> bool:
    """Whether an HTTP request has a body to wait for (Content-Length or Transfer-Encoding)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False
