"""The edge: what every request passes before a route, as one layer with one `send` wrapper.

    app = App(...)                       # signal_rest.app's FastAPI subclass
    app.edge = Edge(app, settings)       # App.__call__ hands every request to it

In order, for HTTP and websockets alike: a request id (`edge.requests`), the Origin and Host
rules (`edge.origins`: refusal, CORS preflight, CORS headers), the API token and the path's
account (`auth.guard`), a deadline for the body (`edge.limits`); then the route. On the way
out one wrapper of `send` records the status and adds the request id and CORS headers; when
the request is done it is counted by route (`edge.metrics`) and, as `access_log` says, logged
(`edge.requests`). A refused start (`edge.startup`) is the lifespan's part.

Why one layer: a coroutine waiting for the body, the daemon or the socket resumes through
every frame between the server and the route, so each nested middleware cost something on
every wait of every request. The checks above were each a middleware of their own, and
FastAPI adds five more layers in front of its router.

A plain route (`auth.scopes`: only the request, the backend and `str` path parameters, a
Response back) is called from here; what it raises is answered by the app's exception
handlers, as the router would. Any other route, a 404 or 405, goes to the FastAPI app as
before. An exception nobody handled is answered 500 (the app's handler for `Exception`, which
logs it under the request id) and raised on to the server, which adds no second log line.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signal_rest.auth.guard import TokenGuard
from signal_rest.auth.tokens import Token
from signal_rest.edge import metrics, requests, startup
from signal_rest.edge.limits import body_deadline, has_body
from signal_rest.edge.origins import Origins, cors_headers, is_preflight, preflight
from signal_rest.edge.responses import refuse
from signal_rest.errors import SignalApiError

__all__ = ["Edge"]

Handler = Any  # an exception handler of the app: (Request, Exception) -> Response


class Edge:
    """The one layer in front of the routes (module docstring). `app` is the FastAPI app whose
    routes, route table and exception handlers are used; `inner` answers what is not a plain
    route (the app's own stack)."""

    def __init__(
        self,
        app: Any,
        inner: ASGIApp,
        *,
        access: str,
        origins: Origins,
        guard: TokenGuard,
        body_timeout: float,
    ) -> None:
        self.app = app
        self.inner = inner
        self.table = app.state.route_table
        self.access = access
        self.origins = origins
        self.guard = guard
        self.body_timeout = body_timeout
        self.direct = self.table.direct_calls()
        requests.quiet_uvicorn()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await startup.lifespan(self.inner, scope, receive, send)
        else:
            await self.inner(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = requests.request_id(scope)
        token_var = requests.REQUEST_ID.set(request_id)
        added: list[tuple[bytes, bytes]] = [(requests.HEADER, request_id.encode("ascii"))]
        status: int | None = None
        streaming = ended = False
        token: Token | None = None

        async def send_out(message: Message) -> None:
            nonlocal status, streaming, ended
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), *added]}
                streaming = token is not None and TokenGuard.streams(message)
            elif streaming and not ended and message.get("more_body"):
                if token is not None and not self.guard.still_valid(token):
                    # A revoked token ends an event stream (the route sees the client gone).
                    ended = True
                    message = {"type": "http.response.body", "body": b""}
            elif ended:
                return
            await send(message)

        try:
            match = self.table.match(scope)  # once, for the guard and the call
            try:
                origin = self.origins.check(scope)
                if origin is not None:
                    if is_preflight(scope):
                        await preflight(origin, send_out)
                        return
                    added.extend(cors_headers(origin))
                token = await self.guard.check(scope, match)
            except SignalApiError as exc:
                await refuse(scope, receive, send_out, exc)
                return
            if has_body(scope):
                receive = body_deadline(receive, self.body_timeout)
            route, _needed, params = match
            call = self.direct.get(id(route)) if route is not None else None
            if call is None:
                await self.inner(scope, receive, send_out)
            else:
                await self._call(call, route, params, scope, receive, send_out)
        except Exception as exc:
            if status is None:
                status = 500
                await self._unexpected(exc, scope, receive, send_out)
            raise
        finally:
            metrics.observe_http(self.table, scope, status, started)
            if self.access == "all" or (
                self.access == "errors" and (status is None or status >= 400)
            ):
                requests.access(scope["method"], scope, status, started, request_id)
            requests.REQUEST_ID.reset(token_var)

    async def _call(
        self,
        call: Any,
        route: Any,
        params: dict[str, Any],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        scope["app"] = self.app
        scope["router"] = self.app.router
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = dict(params)
        request = Request(scope, receive, send)
        try:
            response = await call(request, params)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        handlers = self.app.exception_handlers
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None  # the unexpected: answered and raised on by _http
            if cls in handlers:
                return handlers[cls]
        return None

    async def _unexpected(self, exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.app.exception_handlers.get(Exception)
        if handler is None:
            return
        response = await handler(Request(scope, receive, send), exc)
        await response(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = requests.request_id(scope)
        token_var = requests.REQUEST_ID.set(request_id)
        header = (requests.HEADER, request_id.encode("ascii"))
        status: int | None = None
        close_code: int | None = None
        opened: str | None = None
        token: Token | None = None

        async def send_out(message: Message) -> None:
            nonlocal status, close_code, opened
            kind = message["type"]
            if kind == "websocket.send":
                if token is not None and not self.guard.still_valid(token):
                    await send({"type": "websocket.close", "code": 1008, "reason": "token revoked"})
                    raise TokenGuard.revoked()
            elif kind == "websocket.accept":
                status = status or 101
                message = {**message, "headers": [*message.get("headers", ()), header]}
            elif kind == "websocket.http.response.start":
                status = status or message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            elif kind == "websocket.close" and close_code is None:
                close_code = message.get("code", 1000)
                status = status or 403  # a close before the accept refuses the handshake
            await send(message)
            if kind == "websocket.accept" and opened is None:
                opened = metrics.websocket_opened(self.table, scope)

        async def receive_code() -> Message:
            nonlocal close_code
            message = await receive()
            if message["type"] == "websocket.disconnect" and close_code is None:
                close_code = message.get("code", 1005)
            return message

        try:
            try:
                self.origins.check(scope)
                token = await self.guard.check(scope, self.table.match(scope))
            except SignalApiError as exc:
                await refuse(scope, receive, send_out, exc)
                return
            await self.inner(scope, receive_code, send_out)
        except Exception as exc:
            requests.log_unexpected(requests.ACCESS, exc, request_id, "websocket failed")
            close_code = close_code or 1011
            raise
        finally:
            metrics.websocket_closed(self.table, scope, opened, status)
            if self.access == "all" or (
                self.access == "errors" and requests.failed(status, close_code)
            ):
                requests.access("WEBSOCKET", scope, status, started, request_id, close_code)
            requests.REQUEST_ID.reset(token_var)
