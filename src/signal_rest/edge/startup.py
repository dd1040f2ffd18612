"""A refused start as one log line: when the lifespan raises `StartupRefused`, the server is
told that startup failed with the exception's text (uvicorn logs it and exits), instead of the
traceback Starlette would send.

    await lifespan(app, scope, receive, send)   # the edge, for a "lifespan" scope
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signal_rest.errors import StartupRefused

__all__ = ["lifespan"]


async def lifespan(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `app`'s lifespan, a `StartupRefused` of it told as its text alone."""
    failed: list[Message] = []

    async def hold_failure(message: Message) -> None:
        # Held until the exception behind it is known: it carries the traceback.
        if message["type"] == "lifespan.startup.failed":
            failed.append(message)
        else:
            await send(message)

    try:
        await app(scope, receive, hold_failure)
    except StartupRefused as exc:
        if not failed:
            raise
        await send({"type": "lifespan.startup.failed", "message": str(exc)})
        return
    except BaseException:
        for message in failed:  # any other failure goes on as it came
            await send(message)
        raise
    for message in failed:
        await send(message)
