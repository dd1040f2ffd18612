"""Request ids and the access log, for the edge (`edge.stack`).

    request_id(scope)                       # the client's X-Request-Id if sane, else a new one
    access("POST", scope, 201, started, request_id)

The edge puts each request's id into `edge.logs.REQUEST_ID` and sends it back as
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

from starlette.types import Scope

from signal_rest.edge.logs import ACCESS, REQUEST_ID, log_unexpected, printable, quiet_uvicorn

__all__ = [
    "ACCESS",
    "HEADER",
    "REQUEST_ID",
    "access",
    "failed",
    "log_unexpected",
    "new_request_id",
    "quiet_uvicorn",
    "request_id",
]

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")


# A new id: 16 hex digits, the first 8 random per process, then a counter. Unique within a
# run and (with overwhelming odds) across runs, without a system call per request.
_PREFIX = os.urandom(4).hex()
_COUNTER = itertools.count(int.from_bytes(os.urandom(3)))


def new_request_id() -> str:
    return f"{_PREFIX}{next(_COUNTER) & 0xFFFFFFFF:08x}"


def request_id(scope: Scope) -> str:
    """The client's `X-Request-Id` when it is sane, else a new id."""
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("ascii") if _SANE.fullmatch(value) else new_request_id()
    return new_request_id()


def failed(status: int | None, close_code: int | None) -> bool:
    # A refused handshake, or a socket this side closed because something went wrong (1011),
    # or that ended before it was accepted.
    return status is None or status >= 400 or close_code == 1011


def access(
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
