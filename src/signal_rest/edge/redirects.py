"""Trailing-slash redirects as the Go project (gin's RedirectTrailingSlash) sends them, with a
Location that stays relative: `/v1/about/` → 301 `Location: /v1/about` (307 for methods other
than GET), only when the other spelling is a route for the same method. Starlette's own
`redirect_slashes` is off: it writes the request's Host header into the Location.

    redirect = slash_redirect(request)   # in the 404 handler; None when there is no such route
"""

from __future__ import annotations

from fastapi import Request, Response
from starlette.routing import Match

__all__ = ["slash_redirect"]


def slash_redirect(request: Request) -> Response | None:
    scope = request.scope
    path: str = scope["path"]
    if scope["type"] != "http" or path == "/":
        return None
    other = {**scope, "path": path[:-1] if path.endswith("/") else path + "/"}
    if not any(route.matches(other)[0] == Match.FULL for route in request.app.router.routes):
        return None
    raw: bytes = scope.get("raw_path") or path.encode()
    location = (raw[:-1] if raw.endswith(b"/") else raw + b"/").decode("latin-1")
    if not location.startswith("/") or location.startswith(("//", "/\\")):
        return None  # would name another host
    if scope["query_string"]:
        location += "?" + scope["query_string"].decode("latin-1")
    status = 301 if scope["method"] == "GET" else 307
    return Response(status_code=status, headers={"Location": location})
