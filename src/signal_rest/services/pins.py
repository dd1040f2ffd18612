"""Pinning a group's message for everyone in it (signal-cli 0.14's sendPinMessage and
sendUnpinMessage)."""

from __future__ import annotations

from typing import Any

from signal_rest.backend import Backend
from signal_rest.domain.sending import SendTarget
from signal_rest.services.sending import send_all
from signal_rest.services.versions import needs_newer

__all__ = ["pin_message", "unpin_message"]


async def _send(backend: Backend, method: str, params: dict[str, Any], group_id: str) -> None:
    account = params["account"]
    async with needs_newer(backend, "pinned messages"):
        await send_all(backend.rpc, method, params, [SendTarget.group(group_id)], account=account)


async def pin_message(
    backend: Backend, account: str, group_id: str, author: str, timestamp: int, duration: int
) -> None:
    """Pin `author`'s message sent at `timestamp` for `duration` seconds (-1: until unpinned)."""
    params = {
        "targetAuthor": author,
        "targetTimestamp": timestamp,
        "pinDuration": duration,
        "account": account,
    }
    await _send(backend, "sendPinMessage", params, group_id)


async def unpin_message(
    backend: Backend, account: str, group_id: str, author: str, timestamp: int
) -> None:
    params = {"targetAuthor": author, "targetTimestamp": timestamp, "account": account}
    await _send(backend, "sendUnpinMessage", params, group_id)
