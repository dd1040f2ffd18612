"""Request metrics: every HTTP request counted and timed by its route's template.

    observe_http(table, scope, 201, started)      # from the edge (edge.stack), once answered

The label is the template the router picked (`/v1/receive/{number}`), never the raw path, so the
number of series stays bounded whatever clients send: a path no route has is `other`, and so is
a method outside the standard ones. A request refused before routing (a token, an Origin) is
looked up in the route table, so it still counts under its route. Websockets are counted apart,
by handshake answer, with a gauge of the sessions open: their duration is not a latency.
"""

from __future__ import annotations

import time

from starlette.types import Scope

from signal_rest.auth.scopes import RouteTable
from signal_rest.metrics import (
    HTTP_DURATION,
    HTTP_REQUESTS,
    OTHER,
    WEBSOCKETS,
    WEBSOCKETS_OPEN,
    child,
)

__all__ = ["observe_http", "websocket_closed", "websocket_opened"]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _route(table: RouteTable, scope: Scope, *, look_up: bool) -> str:
    # The edge or the router leaves the route it picked in the scope; a request refused before
    # it got there is matched here (rarely: only refusals take this path).
    path = getattr(scope.get("route"), "path_format", None)
    if isinstance(path, str):
        return path
    if look_up:
        route, _scope, _params = table.match(scope)
        path = getattr(route, "path_format", None)
        if isinstance(path, str):
            return path
    return OTHER


def observe_http(table: RouteTable, scope: Scope, status: int | None, started: float) -> None:
    """Count and time an HTTP request that got `status` (None: no answer, counted as 500)."""
    status = 500 if status is None else status
    method = scope["method"] if scope["method"] in METHODS else OTHER
    route = _route(table, scope, look_up=status != 404)
    child(HTTP_REQUESTS, route, method, str(status)).inc()
    child(HTTP_DURATION, route, method).observe(time.perf_counter() - started)


def websocket_opened(table: RouteTable, scope: Scope) -> str:
    """Count an accepted websocket; its route label, for `websocket_closed`."""
    opened = _route(table, scope, look_up=False)
    WEBSOCKETS.labels(opened, "101").inc()
    WEBSOCKETS_OPEN.labels(opened).inc()
    return opened


def websocket_closed(
    table: RouteTable, scope: Scope, opened: str | None, status: int | None
) -> None:
    """A websocket ended: one open fewer, or, never accepted, a handshake answered `status`."""
    if opened is not None:
        WEBSOCKETS_OPEN.labels(opened).dec()
    else:
        WEBSOCKETS.labels(_route(table, scope, look_up=True), str(status or 500)).inc()
