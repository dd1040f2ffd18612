"""Conversation routes' backend calls: reactions, receipts, typing indicators, remote deletes.

    timestamp = await conversation.call(backend, "sendReaction", number, params)

`params` come from `signal_rest.domain.conversation`. A call that reached nobody raises signal-cli's
error, naming who failed and why (as `/v2/send` does).
"""

from __future__ import annotations

from typing import Any

from signal_rest.backend import Backend
from signal_rest.domain.sending import SendTarget
from signal_rest.errors import ValidationError
from signal_rest.services.sending import send_all

__all__ = ["INVALID_RESPONSE", "call"]

INVALID_RESPONSE = "Couldn't process request - invalid signal-cli response"

# The keys of the domain's params that name the recipient; the rest is the method's own.
_RECIPIENT_KEYS = ("recipient", "username", "groupId")


def _split(params: dict[str, Any]) -> tuple[dict[str, Any], SendTarget]:
    target = {k: v for k, v in params.items() if k in _RECIPIENT_KEYS}
    rest = {k: v for k, v in params.items() if k not in _RECIPIENT_KEYS}
    names = [n for v in target.values() for n in (v if isinstance(v, list) else [v])]
    label = ", ".join(str(n) for n in names)
    return rest, SendTarget(target, label)


async def call(backend: Backend, method: str, number: str, params: dict[str, Any]) -> str:
    """Run a send-like `method` for account `number`; the sent message's timestamp."""
    base, target = _split(params)
    base["account"] = number
    [entry] = await send_all(backend.rpc, method, base, [target], account=number)
    timestamp = entry.get("timestamp")
    if not isinstance(timestamp, str) or not timestamp.isdigit():
        raise ValidationError(INVALID_RESPONSE)
    return timestamp
