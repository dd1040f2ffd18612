"""Which scope each route needs: declared where the routers are mounted, nowhere else.

    table = RouteTable(app)
    table.mount(send.router, "send")     # every route of the router needs a "send" token
    table.scope_of(route)                # "send"; None for a route mounted some other way
    table.match(asgi_scope)              # the route a request goes to, with its scope and params
    table.dispatch()                     # the app's router goes straight to the matched route
    table.direct_calls()                 # plain endpoints, to be called without the router
    table.names_account(route)           # True: its `{number}` must be an account of the service

A path `{number}` names an account of the service, which the token guard checks before the
route runs, unless the endpoint is marked `@any_number` (registering a number, the sandbox's
outside phones): a route added later gets the check without asking for it.

A scope is one of the token scopes (`send`, `receive`, `groups`, `admin`) or `open` (answered
without a token: health checks, version probes, the API documentation). A route without a scope
is refused to every token, so one that escapes the table fails closed. The scope also goes into
the OpenAPI document: `x-scope` and a `security` requirement on every operation, and with
`refusals` the error responses the edge gives a route of that scope before it runs.

Matching is remembered per (kind, method, path): the router tries every route in turn, which
costs more than the rest of a small request. `dispatch` has the app's router use what is
remembered (the same route, the same path parameters), so a request is matched once, not by
the edge and the router each; anything that is not a plain route match (a 404, 405, redirect
or mount) still goes through the router.

A plain endpoint, one whose parameters are only `request: Request`, `backend: BackendDep` and
path parameters of type `str`, and that returns a Response, is called directly by the edge
(`direct_calls`): FastAPI's per-request machinery (dependency solving, its exception and
exit-stack wrappers around each route) would cost more than what such an endpoint does. What
it raises reaches the app's exception handlers as before.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from signal_rest.auth.tokens import SCOPES

__all__ = ["OPEN", "SECURITY_SCHEMES", "RouteMatch", "RouteTable", "any_number"]

OPEN = "open"
SECURITY_SCHEMES: dict[str, Any] = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from `signal-rest token create`. Tokens are optional: "
        "until one is created every route answers without one.",
    },
    "basicToken": {
        "type": "http",
        "scheme": "basic",
        "description": "The same token as the password of HTTP Basic auth; the user name is "
        "ignored.",
    },
}
_SECURITY: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]

RouteMatch = tuple[BaseRoute | None, str | None, dict[str, Any]]
Direct = Callable[[Request, dict[str, Any]], Awaitable[Response]]
_NO_MATCH: RouteMatch = (None, None, {})
# Distinct paths remembered; past it the memory starts anew (a scan of random paths must not
# grow it without bound).
MATCHES_KEPT = 4096
Refusals = Callable[[str], dict[int | str, dict[str, Any]]]
E = typing.TypeVar("E", bound=Callable[..., Any])
_ANY_NUMBER = "_signal_rest_any_number"


def any_number(endpoint: E) -> E:
    """Mark an endpoint whose path `{number}` may be any number, not only an account of the
    service (put it below the route decorator)."""
    setattr(endpoint, _ANY_NUMBER, True)
    return endpoint


class RouteTable:
    """The app's routes with the scope each was mounted with (kept in `app.state.route_table`).

    Scopes belong to the routes as their routers declare them (FastAPI includes routers
    without copying their routes), looked up by identity."""

    def __init__(
        self,
        app: FastAPI,
        *,
        refusals: Refusals | None = None,
        unknown_account: dict[int | str, dict[str, Any]] | None = None,
    ) -> None:
        self.app = app
        self._refusals = refusals
        self._unknown_account = unknown_account or {}
        self._scopes: dict[int, tuple[BaseRoute, str]] = {}
        self._matches: dict[tuple[str, str, str, str], RouteMatch] = {}
        app.state.route_table = self
        _document_security(app)

    def mount(self, router: APIRouter, scope: str) -> None:
        """Include `router` in the app; each of its routes needs `scope`."""
        self._claim(
            [context.original_route for context in iter_route_contexts(router.routes)], scope
        )
        responses = self._refusals(scope) if self._refusals is not None else None
        self.app.include_router(router, responses=responses)

    def _claim(self, routes: list[BaseRoute], scope: str) -> None:
        if scope != OPEN and scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}: one of {OPEN}, {', '.join(SCOPES)}")
        for route in routes:
            self._scopes[id(route)] = (route, scope)
            if isinstance(route, APIRoute) and route.include_in_schema:
                extra: dict[str, Any] = {**(route.openapi_extra or {}), "x-scope": scope}
                if scope != OPEN:
                    extra["security"] = _SECURITY
                route.openapi_extra = extra
                if self.names_account(route):
                    route.responses = {**self._unknown_account, **route.responses}

    @staticmethod
    def names_account(route: BaseRoute) -> bool:
        """Whether `route`'s path `{number}` must be an account of the service."""
        if "number" not in getattr(route, "param_convertors", {}):
            return False
        return not getattr(getattr(route, "endpoint", None), _ANY_NUMBER, False)

    def routes(self) -> list[BaseRoute]:
        """Every route the app answers (HTTP and websocket), as its routers declared them."""
        return [context.original_route for context in iter_route_contexts(self.app.router.routes)]

    def scope_of(self, route: BaseRoute) -> str | None:
        entry = self._scopes.get(id(route))
        return entry[1] if entry is not None and entry[0] is route else None

    def match(self, scope: Scope) -> RouteMatch:
        """The route `scope` (an ASGI request) goes to, as the router will pick it: the route,
        its scope, its path parameters; (None, None, {}) when none matches (a 404 or 405).
        The parameters are the remembered match's: don't change them."""
        key = (scope["type"], scope.get("method", ""), scope.get("root_path", ""), scope["path"])
        found = self._matches.get(key)
        if found is None:
            found = self._scan(scope)
            if len(self._matches) >= MATCHES_KEPT:
                self._matches.clear()
            self._matches[key] = found
        return found

    def _scan(self, scope: Scope) -> RouteMatch:
        for context in iter_route_contexts(self.app.router.routes):
            found, child = context.matches(scope)
            if found == Match.FULL:
                route = context.original_route
                return route, self.scope_of(route), dict(child.get("path_params", {}))
        return _NO_MATCH

    def direct_calls(self) -> dict[int, Direct]:
        """How to call each plain route's endpoint directly, by the route's id (the module
        docstring); the edge (`edge.stack`) calls them without the app's router."""
        return {id(route): call for route in self.routes() if (call := _direct(route))}

    def dispatch(self) -> None:
        """Route the app's requests by `match`: a matched route (HTTP or websocket) is handled
        at once, anything else by the router as before. (Plain routes never get here: the edge
        calls them.) Call once every route is mounted."""
        router = self.app.router
        fallback: ASGIApp = router.middleware_stack

        async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] in ("http", "websocket"):
                route, _needed, params = self.match(scope)
                if isinstance(route, APIRoute | APIWebSocketRoute):
                    scope["router"] = router
                    scope["route"] = route
                    scope["endpoint"] = route.endpoint
                    scope["path_params"] = dict(params)
                    await route.handle(scope, receive, send)
                    return
            await fallback(scope, receive, send)

        router.middleware_stack = dispatch


def _direct(route: BaseRoute) -> Direct | None:
    """How to call `route`'s endpoint without FastAPI, if it is plain (the module docstring)."""
    from signal_rest.api.deps import BackendDep

    if not isinstance(route, APIRoute) or route.dependencies or route.methods == {"HEAD"}:
        return None
    endpoint = route.endpoint
    hints = typing.get_type_hints(endpoint, include_extras=True)
    returned = hints.get("return")
    if not (isinstance(returned, type) and issubclass(returned, Response)):
        return None
    path_params = set(route.param_convertors)
    kinds: dict[str, str] = {}
    for name, parameter in inspect.signature(endpoint).parameters.items():
        hint = hints.get(name)
        if parameter.default is not inspect.Parameter.empty:
            return None
        if hint is Request or (isinstance(hint, type) and issubclass(hint, Request)):
            kinds[name] = "request"
        elif hint == BackendDep:
            kinds[name] = "backend"
        elif hint is str and name in path_params:
            kinds[name] = "path"
        else:
            return None

    async def call(request: Request, params: dict[str, Any]) -> Response:
        arguments: dict[str, Any] = {}
        for name, kind in kinds.items():
            if kind == "request":
                arguments[name] = request
            elif kind == "backend":
                arguments[name] = request.app.state.backend
            else:
                arguments[name] = params[name]
        response: Response = await endpoint(**arguments)
        return response

    return call


def _document_security(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
