"""signal-cli's own HTTP API (`signal-cli daemon --http`): `POST /api/v1/rpc`, `GET /api/v1/check`.

Answered as signal-cli answers them, not as the Go project's routes: JSON-RPC in and out, empty
bodies for 201/405/415, and the 404s of its HTTP server (`not_found`, used by app.py for every
path under /api/v1/). `GET /api/v1/events`, the event stream, is `signal_rest.api.events`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from signal_rest.api.body import read_body
from signal_rest.api.deps import BackendDep
from signal_rest.api.schemas import empty, errors, ok
from signal_rest.auth.guard import allowed_accounts
from signal_rest.errors import DaemonUnavailable, Forbidden, RpcTimeout
from signal_rest.services import passthrough

__all__ = ["CONTEXTS", "check_router", "not_found", "router", "wrong_method"]

router = APIRouter(tags=["signal-cli"])  # the passthrough: acts for every account
check_router = APIRouter(tags=["signal-cli"])  # the liveness check: reveals nothing

# The paths signal-cli's HTTP server has a handler for; it matches them as prefixes.
CONTEXTS = ("/api/v1/rpc", "/api/v1/events", "/api/v1/check")
CHECK_TIMEOUT = 5.0

# A JSON-RPC request or batch; loose, since signal-cli answers whatever it is with JSON-RPC.
_RPC_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "description": "One JSON-RPC 2.0 request object, or a batch (array) of them",
                "oneOf": [{"type": "object"}, {"type": "array", "items": {}}],
            }
        }
    },
}


@with_config(ConfigDict(extra="forbid"))
class RpcErrorObject(TypedDict):
    code: int
    message: str
    data: Any


@with_config(ConfigDict(extra="forbid"))
class RpcAnswer(TypedDict, total=False):
    """One JSON-RPC response: `result` or `error`, and the request's `id`."""

    jsonrpc: str
    result: Any
    error: RpcErrorObject
    id: str | int | float | None


def wrong_method(method: str) -> Response:
    """signal-cli's 405: no body, no Allow header (and to HEAD, no Content-Length either)."""
    response = Response(status_code=405)
    if method == "HEAD":
        del response.headers["content-length"]
    return response


def not_found(path: str) -> Response:
    """signal-cli's 404: empty under one of its handlers, its HTTP server's page elsewhere."""
    if path.startswith(CONTEXTS):
        return Response(status_code=404)
    return Response(
        b"<h1>404 Not Found</h1>No context found for request",
        status_code=404,
        headers={"Content-Type": "text/html", "Connection": "close"},
    )


def _refuse_account_tokens(request: Request) -> None:
    if allowed_accounts(request) is not None:
        raise Forbidden(
            "This API token is limited to some accounts; /api/v1/rpc can act for every "
            "account and needs a token for all accounts"
        )


@router.post(
    "/api/v1/rpc",
    summary="signal-cli's JSON-RPC over HTTP: one request or a batch, as `daemon --http` takes it",
    response_model=None,
    openapi_extra={"requestBody": _RPC_BODY},
    responses=ok(
        RpcAnswer | list[RpcAnswer],
        description="The JSON-RPC answer, also for JSON-RPC errors (an array for a batch)",
    )
    | empty(201, "The request was a notification (no id): carried out, nothing to answer")
    | empty(415, "The Content-Type does not start with application/json")
    | errors(400, 403, 408, 413, 503, 504),
)
async def rpc(request: Request, backend: BackendDep) -> Response:
    _refuse_account_tokens(request)
    if not request.headers.get("content-type", "").startswith("application/json"):
        return Response(status_code=415)
    # Our limits (413, or 400 for JSON nested beyond max_json_depth), sized for attachments.
    body = await read_body(request, files=True)
    answer = await passthrough.rpc(backend.rpc, body, timeout=backend.settings.rpc_timeout)
    if answer is None:
        return Response(status_code=201)
    return Response(answer, media_type="application/json")


@check_router.get(
    "/api/v1/check",
    summary="signal-cli's liveness check: 200 with an empty body while signal-cli answers",
    response_model=None,
    response_class=Response,
    responses=empty(200, "signal-cli answers") | errors(503),
)
async def check(request: Request, backend: BackendDep) -> Response:
    if request.method != "GET":  # HEAD: signal-cli's server answers it with 405
        return wrong_method(request.method)
    timeout = min(CHECK_TIMEOUT, backend.settings.rpc_timeout)
    try:
        await backend.rpc.call("version", timeout=timeout)
    except RpcTimeout as exc:
        raise DaemonUnavailable(f"signal-cli did not answer within {timeout:g} s") from exc
    return Response(status_code=200)
