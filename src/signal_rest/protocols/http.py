"""uvicorn's HTTP protocol, with a deadline for request headers and a cap on connections.

    config = uvicorn.Config(app, http=http_protocol(settings))

uvicorn never times out a connection that trickles its request headers: any byte cancels its
keep-alive timer. Here every connection gets `header_timeout` seconds, from when it opens or
its previous response ends, to complete the next request's headers, however slowly they come;
then it is answered 408 `{"error"}` and closed (or just closed if it sent nothing). The body's
deadline is `signal_rest.edge.limits`.

Over `max_connections` open connections (websockets included: uvicorn counts them in the same
set), a new one is answered 503 and closed as soon as it is accepted, so it does not hold a file
descriptor; uvicorn's own `limit_concurrency` would answer only after reading the headers. The
default cap stays below the process's open-file limit.

When the server begins its shutdown, `on_shutdown` (if given) is called before uvicorn lets
each connection finish: a response that never ends by itself (`GET /api/v1/events`) is told
to end, instead of holding the shutdown until its grace period runs out. Each request's scope
carries the extension `scope["extensions"][ABORT]["abort"]`, which drops the connection at once:
for a response whose client stopped reading, whose connection would otherwise stay open (and
hold up a shutdown) until the client reads what is buffered for it.

`GuardedConnection` is a mixin over uvicorn's `H11Protocol` or `HttpToolsProtocol`: it only
uses what both share (`connection_made`, `data_received`, `on_response_complete`,
`connection_lost`, `shutdown`, `cycle` and its `scope`, `connections`, `transport`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from signal_rest.config import Settings
from signal_rest.protocols.bursts import BurstLog

__all__ = [
    "ABORT",
    "GuardedConnection",
    "default_max_connections",
    "http_protocol",
    "listen_backlog",
    "max_connections",
]

log = logging.getLogger(__name__)

ABORT = "signal_rest.abort"

if TYPE_CHECKING:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    _Base = H11Protocol
else:
    _Base = asyncio.Protocol


def _open_file_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 16 if soft == resource.RLIM_INFINITY else soft


def default_max_connections() -> int:
    """The open-file limit less a reserve for everything but clients: a quarter of the limit,
    at least 64 (at most half of a tiny limit)."""
    soft = _open_file_limit()
    return max(1, soft - min(max(64, soft // 4), soft // 2))


def max_connections(settings: Settings) -> int:
    return settings.max_connections or default_max_connections()


def listen_backlog(settings: Settings) -> int:
    """The listen backlog: asyncio accepts up to this many connections in one go, before any
    is refused over the cap, so it should fit in half the descriptors left over (uvicorn's
    2048 would run a process with the usual limit of 1024 out of them); at least 128, so a
    burst of clients is queued rather than made to retry."""
    spare = _open_file_limit() - max_connections(settings)
    return max(128, min(2048, spare // 2))


def _answer(protocol: _Base, status: int, reason: str, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    head = [f"HTTP/1.1 {status} {reason}".encode()]
    head += [name + b": " + value for name, value in protocol.server_state.default_headers]
    head += [
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
    ]
    protocol.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
    protocol.transport.close()


class HeadWithBody:
    """A response's transport that sends its head together with the first part of its body:
    uvicorn writes them apart, two system calls and often two packets for a small answer. The
    head waits for the body only until the event loop's next turn (a stream whose first event
    is not ready yet gets its head at once); anything else done with the transport sends what
    waits first."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None
        self._first = True

    def write(self, data: bytes) -> None:
        if self._first:
            self._first = False
            self._head = bytes(data)
            self._loop.call_soon(self.flush)
        elif self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head + data)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        self.flush()
        return getattr(self._transport, name)


class GuardedConnection(_Base):
    header_timeout: float = 15.0
    max_connections: int = 1024
    refused: BurstLog = BurstLog(log, "connections refused", level=logging.WARNING)
    on_shutdown: Callable[[], None] | None = None

    _header_timer: asyncio.TimerHandle | None = None
    _sent_some = False  # bytes of the awaited request's head have arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self.refused.hit(
                self.loop,
                "Refusing new connections: %d are open (max_connections)",
                self.max_connections,
            )
            _answer(self, 503, "Service Unavailable", "Too many open connections, try later")
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is not None:
            self._sent_some = True
        super().data_received(data)
        if self._header_timer is not None and not self._awaiting_head():
            self._disarm()
        cycle: Any = self.cycle
        if cycle is not None and not isinstance(cycle.transport, HeadWithBody):
            # Before its app runs: uvicorn starts it as a task.
            cycle.scope.setdefault("extensions", {}).setdefault(
                ABORT, {"abort": self.transport.abort}
            )
            cycle.transport = HeadWithBody(self.transport, self.loop)

    def on_header(self, name: bytes, value: bytes) -> None:
        # httptools passes a second Host header on (h11 refuses it): a request must name
        # one host (RFC 9112), so it is refused as unparsable here too. An exception raised
        # here is the parser's error, answered 400 by uvicorn (send_400_response below).
        if name.lower() == b"host" and any(n == b"host" for n, _ in self.headers):
            raise ValueError("more than one Host header")
        super().on_header(name, value)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._awaiting_head() and not self.transport.is_closing():
            self._sent_some = False
            self._arm()

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers a request it cannot parse (a broken request line, headers over its
        # limit) in text/plain; here it gets the one error body too.
        self._disarm()
        _answer(self, 400, "Bad Request", f"Malformed HTTP request: {msg.rstrip('.')}")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        if self.on_shutdown is not None:
            self.on_shutdown()
        super().shutdown()

    def _awaiting_head(self) -> bool:
        # No request whose headers are complete is in progress, and the connection was not
        # handed to a websocket protocol.
        cycle: Any = self.cycle
        idle = cycle is None or cycle.response_complete
        return idle and self.transport.get_protocol() is self

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or not self._awaiting_head():
            return
        if not self._sent_some:
            self.transport.close()  # an idle connection: nobody to answer
            return
        text = f"The request headers did not arrive within {self.header_timeout:g} seconds"
        _answer(self, 408, "Request Timeout", text)


def http_protocol(
    settings: Settings,
    base: type[asyncio.Protocol] | None = None,
    *,
    on_shutdown: Callable[[], None] | None = None,
) -> type[Any]:
    """`base` (uvicorn's HttpToolsProtocol, or by default its H11Protocol) guarded as `settings`
    say; `on_shutdown` is called when the server starts to shut down."""
    if base is None:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol
    limit = max_connections(settings)
    return type(
        f"Guarded{base.__name__}",
        (GuardedConnection, base),
        {
            "header_timeout": settings.header_timeout,
            "max_connections": limit,
            # One log per burst of refusals, per server (its timer runs on that server's loop).
            "refused": BurstLog(log, "connections refused", level=logging.WARNING),
            "on_shutdown": staticmethod(on_shutdown) if on_shutdown is not None else None,
        },
    )
