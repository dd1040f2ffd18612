"""Which scope each route needs: declared where the routers are mounted, nowhere else.

    table = RouteTable(app)
    table.mount(send.router, "send")     # every route of the router needs a "send" token
    table.scope_of(route)                # "send"; None for a route mounted some other way
    table.match(asgi_scope)              # the route a request goes to, with its scope and params

A scope is one of the token scopes (`send`, `receive`, `groups`, `admin`) or `open` (answered
without a token: health checks, version probes, the API documentation). A route without a scope
is refused to every token, so one that escapes the table fails closed. The scope also goes into
the OpenAPI document: `x-scope` and a `security` requirement on every operation, and with
`refusals` the error responses the edge gives a route of that scope before it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from signal_rest.auth.tokens import SCOPES

__all__ = ["OPEN", "SECURITY_SCHEMES", "RouteMatch", "RouteTable"]

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
Refusals = Callable[[str], dict[int | str, dict[str, Any]]]


class RouteTable:
    """The app's routes with the scope each was mounted with (kept in `app.state.route_table`).

    Scopes belong to the routes as their routers declare them (FastAPI includes routers
    without copying their routes), looked up by identity."""

    def __init__(self, app: FastAPI, *, refusals: Refusals | None = None) -> None:
        self.app = app
        self._refusals = refusals
        self._scopes: dict[int, tuple[BaseRoute, str]] = {}
        app.state.route_table = self
        _document_security(app)

    def mount(self, router: APIRouter, scope: str) -> None:
        """Include `router` in the app; each of its routes needs `scope`."""
        self._claim(
            [context.original_route for context in iter_route_contexts(router.routes)], scope
        )
        responses = self._refusals(scope) if self._refusals is not None else None
        self.app.include_router(router, responses=responses)

    def mount_existing(self, scope: str) -> None:
        """Give `scope` to the routes the app made itself (FastAPI's OpenAPI document)."""
        self._claim([r for r in self.routes() if self.scope_of(r) is None], scope)

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

    def routes(self) -> list[BaseRoute]:
        """Every route the app answers (HTTP and websocket), as its routers declared them."""
        return [context.original_route for context in iter_route_contexts(self.app.router.routes)]

    def scope_of(self, route: BaseRoute) -> str | None:
        entry = self._scopes.get(id(route))
        return entry[1] if entry is not None and entry[0] is route else None

    def match(self, scope: Scope) -> RouteMatch:
        """The route `scope` (an ASGI request) goes to, as the router will pick it: the route,
        its scope, its path parameters; (None, None, {}) when none matches (a 404 or 405)."""
        for context in iter_route_contexts(self.app.router.routes):
            found, child = context.matches(scope)
            if found == Match.FULL:
                route = context.original_route
                return route, self.scope_of(route), dict(child.get("path_params", {}))
        return None, None, {}


def _document_security(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
