"""Request metrics: every HTTP request counted and timed by its route's template.

    app.add_middleware(RequestMetrics, table=app.state.route_table)

The label is the template the router picked (`/v1/receive/{number}`), never the raw path, so the
number of series stays bounded whatever clients send: a path no route has is `other`, and so is
a method outside the standard ones. A request refused before routing (a token, an Origin) is
looked up in the route table, so it still counts under its route. Websockets are counted apart,
by handshake answer, with a gauge of the sessions open: their duration is not a latency.
"""

from __future__ import annotations

import time

from prometheus_client.metrics import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signal_rest.auth.scopes import RouteTable
from signal_rest.metrics import HTTP_DURATION, HTTP_REQUESTS, OTHER, WEBSOCKETS, WEBSOCKETS_OPEN

__all__ = ["RequestMetrics"]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# The labelled children, looked up once per (route, method, status): `labels()` takes a lock and
# builds the label tuple on every call, which the hot path can do without.
_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _http_children(route: str, method: str, status: int) -> tuple[Counter, Histogram]:
    key = (route, method, status)
    found = _children.get(key)
    if found is None:
        found = (
            HTTP_REQUESTS.labels(route, method, str(status)),
            HTTP_DURATION.labels(route, method),
        )
        _children[key] = found
    return found


class RequestMetrics:
    def __init__(self, app: ASGIApp, *, table: RouteTable) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _route(self, scope: Scope, *, look_up: bool) -> str:
        # The router leaves the route it picked in the scope; a request refused before it got
        # there is matched here (rarely: only refusals take this path).
        path = getattr(scope.get("route"), "path_format", None)
        if isinstance(path, str):
            return path
        if look_up:
            route, _scope, _params = self.table.match(scope)
            path = getattr(route, "path_format", None)
            if isinstance(path, str):
                return path
        return OTHER

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else OTHER
            route = self._route(scope, look_up=status != 404)
            counter, histogram = _http_children(route, method, status)
            counter.inc()
            histogram.observe(time.perf_counter() - started)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        status: int | None = None
        opened: str | None = None

        async def send_status(message: Message) -> None:
            nonlocal status, opened
            kind = message["type"]
            if status is None:
                if kind == "websocket.accept":
                    status = 101
                elif kind == "websocket.http.response.start":
                    status = message["status"]
                elif kind == "websocket.close":
                    status = 403  # a close before the accept refuses the handshake
            await send(message)
            if kind == "websocket.accept" and opened is None:
                opened = self._route(scope, look_up=False)
                WEBSOCKETS.labels(opened, "101").inc()
                WEBSOCKETS_OPEN.labels(opened).inc()

        try:
            await self.app(scope, receive, send_status)
        finally:
            if opened is not None:
                WEBSOCKETS_OPEN.labels(opened).dec()
            else:
                WEBSOCKETS.labels(self._route(scope, look_up=True), str(status or 500)).inc()
