"""asyncio's accept errors, logged once per burst.

When the process runs out of file descriptors, asyncio's loop logs "socket.accept() out of
system resource" through the loop's exception handler for every failed try: up to the listen
backlog (2048) per try, each with a traceback, hundreds of thousands of lines in seconds. Each
failure also schedules a retry of the listening socket, and those still pending when the server
closes that socket fail again with a traceback each.

`quiet_accept_errors(loop)` installs an exception handler, for the rest of the loop's life, that
logs the first failed accept of a burst and then a count at most every 10 s, and drops the
retries that find the listening socket closed; every other loop error goes to the handler that
was there before (or the default one).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from signal_rest.protocols.bursts import BurstLog

__all__ = ["ACCEPT_ERROR", "quiet_accept_errors"]

log = logging.getLogger(__name__)

ACCEPT_ERROR = "socket.accept() out of system resource"


def _is_stale_retry(context: dict[str, Any]) -> bool:
    # asyncio's retry of a listening socket (BaseSelectorEventLoop._start_serving) that runs
    # after the server closed the socket: "Invalid file descriptor: -1" or the like.
    callback = getattr(context.get("handle"), "_callback", None)
    failed = isinstance(context.get("exception"), (OSError, ValueError))
    return failed and getattr(callback, "__name__", "") == "_start_serving"


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    previous = loop.get_exception_handler()
    if getattr(previous, "quiet_accept_errors", False):
        return
    burst = BurstLog(log, "failed accepts")

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == ACCEPT_ERROR:
            burst.hit(
                loop,
                "Cannot accept connections: %s (raise the open-file limit or lower "
                "max_connections); further failures are counted",
                context.get("exception"),
            )
        elif _is_stale_retry(context):
            pass
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    handler.quiet_accept_errors = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)
