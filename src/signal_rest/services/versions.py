"""Calling signal-cli methods that older daemons lack, with an answer a REST user can act on.

    async with needs_newer(backend, "polls"):
        await backend.rpc.call("sendPollCreate", params)

A signal-cli older than the method answers `-32601 Method not implemented`; the route then fails
with 501 `polls need signal-cli 0.14 or newer (this daemon: 0.13.19)` instead of that text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from signal_rest.backend import Backend
from signal_rest.errors import DaemonTooOld, RpcError, SignalApiError

__all__ = ["METHOD_NOT_FOUND", "needs_newer"]

METHOD_NOT_FOUND = -32601


async def _daemon_version(backend: Backend) -> str:
    try:
        result = await backend.rpc.call("version")
    except SignalApiError:
        return "version unknown"
    version = result.get("version") if isinstance(result, dict) else None
    return str(version) if version else "version unknown"


@asynccontextmanager
async def needs_newer(backend: Backend, feature: str, since: str = "0.14") -> AsyncIterator[None]:
    """Turn the daemon's "Method not implemented" inside the block into DaemonTooOld."""
    try:
        yield
    except RpcError as exc:
        if exc.code != METHOD_NOT_FOUND:
            raise
        version = await _daemon_version(backend)
        raise DaemonTooOld(
            f"{feature} need signal-cli {since} or newer (this daemon: {version})"
        ) from exc
