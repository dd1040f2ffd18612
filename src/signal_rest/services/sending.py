"""Sending: temp files for a request's attachments, and one signal-cli call per target.

Used by every route that sends something (messages, reactions, receipts, typing, polls, …): the
route maps its REST body to signal-cli params, this module runs the calls and gathers results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any

from signal_rest.backend import Backend
from signal_rest.domain.attachments import Decoded, TempAttachments
from signal_rest.domain.sending import SendTarget, entry_from_result, failed_recipients
from signal_rest.errors import RateLimited, RpcError, SignalApiError
from signal_rest.jsonrpc.client import RpcClient

__all__ = ["PreparedSend", "send_all"]


class PreparedSend:
    """Decodes a request's attachments to temp files and removes them afterwards."""

    def __init__(self, backend: Backend, decoded: Mapping[str, Decoded] | None = None) -> None:
        # `decoded`: attachments the body reader already decoded (see TempAttachments).
        self.files = TempAttachments(
            backend.tmp_dir, max_bytes=backend.settings.max_attachment_bytes, decoded=decoded
        )

    async def __aenter__(self) -> PreparedSend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.files.pending:  # most sends have none: no trip to a worker thread for them
            await asyncio.to_thread(self.files.cleanup)

    async def decode(self, value: str) -> str:
        # Decoding 100 MiB of base64 takes a while: keep the event loop free meanwhile.
        path = await asyncio.to_thread(self.files.add, value)
        return str(path)


def _response_of(exc: SignalApiError) -> dict[str, Any] | None:
    """The partial SendResult signal-cli attaches to a send that reached nobody."""
    data = exc.data if isinstance(exc, RpcError) else None
    response = data.get("response") if isinstance(data, dict) else None
    return response if isinstance(response, dict) else None


def _explained(exc: RpcError) -> RpcError:
    """A send that reached nobody: say who failed and why, keeping signal-cli's text first."""
    response = _response_of(exc)
    failed = failed_recipients(response.get("results")) if response else []
    if not failed or isinstance(exc, RateLimited):
        return exc
    detail = ", ".join(
        f"{f.get('number') or f.get('uuid') or f.get('username')}: {f['reason']}" for f in failed
    )
    return RpcError(exc.code, f"{exc.message} ({detail})", exc.data)


async def _outcome(call: Awaitable[Any]) -> Any:
    """What the call returned or raised, as gather(return_exceptions=True) gives it."""
    try:
        return await call
    except Exception as exc:
        return exc


async def send_all(
    rpc: RpcClient,
    method: str,
    base: dict[str, Any],
    targets: list[SendTarget],
    *,
    account: str,
) -> list[dict[str, Any]]:
    """Run one call per target concurrently; the 201 entries in target order.

    When every call fails, the first failure is raised. When some succeed, a failed target's
    entry is `{"timestamp": …}` with its per-recipient errors (signal-cli reported them), or
    `{"error": "<text>", "recipients": [<target>]}` — never silently dropped.
    """
    calls = [rpc.call(method, {**base, **target.params}) for target in targets]
    if len(calls) == 1:  # the usual send: no tasks to make for one call
        outcomes: list[Any] = [await _outcome(calls[0])]
    else:
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
    entries: list[dict[str, Any]] = []
    failures: list[SignalApiError] = []
    for target, outcome in zip(targets, outcomes, strict=True):
        if isinstance(outcome, RateLimited):
            outcome.account = account
        if isinstance(outcome, RpcError):
            outcome = _explained(outcome)
        if isinstance(outcome, SignalApiError):
            failures.append(outcome)
            response = _response_of(outcome)
            if response is not None:
                entries.append(entry_from_result(response))
            else:
                entries.append({"error": outcome.message, "recipients": [target.label]})
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            entries.append(entry_from_result(outcome))
    if failures and len(failures) == len(targets):
        raise failures[0]
    return entries
