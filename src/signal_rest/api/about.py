"""`/v1/about` and `/v1/health`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from signal_rest import API_COMPAT_VERSION, __version__
from signal_rest.api.deps import BackendDep
from signal_rest.api.schemas import empty, errors, ok
from signal_rest.errors import DaemonUnavailable, RpcTimeout

router = APIRouter(tags=["General"])

HEALTH_TIMEOUT = 5.0


@with_config(ConfigDict(extra="forbid"))
class About(TypedDict):
    """The Go project's keys, then this service's own version and backend."""

    versions: list[str]
    build: int
    mode: str
    version: str
    capabilities: dict[str, list[str]]
    signal_rest_version: str
    backend: Literal["sandbox", "signal-cli"]


@router.get(
    "/v1/about",
    summary="Lists general information about the API",
    response_model=None,
    responses=ok(About),
)
async def about(backend: BackendDep) -> dict[str, Any]:
    # `version` is the signal-cli-rest-api release whose API this service speaks: clients such
    # as signalbot refuse anything below 0.101. Our own version is in `signal_rest_version`.
    return {
        "versions": ["v1", "v2"],
        "build": 2,
        "mode": "json-rpc",
        "version": API_COMPAT_VERSION,
        "capabilities": {"v2/send": ["quotes", "mentions"]},
        "signal_rest_version": __version__,
        "backend": "sandbox" if backend.is_sandbox else "signal-cli",
    }


@router.get(
    "/v1/health",
    summary="API Health Check",
    status_code=204,
    responses=empty(204, "signal-cli answers") | errors(503),
)
async def health(backend: BackendDep) -> Response:
    # Unlike the Go project, 204 means signal-cli (or the sandbox) really answered. Whatever
    # else is stuck, the answer comes within the bound: a missing connection is a 503 at once,
    # a daemon that does not answer is a 503 when the bound passes.
    timeout = min(HEALTH_TIMEOUT, backend.settings.rpc_timeout)
    try:
        await backend.rpc.call("version", timeout=timeout)
    except RpcTimeout as exc:
        raise DaemonUnavailable(f"signal-cli did not answer within {timeout:g} s") from exc
    return Response(status_code=204)
