"""Identities: the keys an account knows, trusting one, and the account's trust mode."""

from __future__ import annotations

from typing import Any

from signal_rest.backend import Backend
from signal_rest.errors import InternalError, RpcError, ValidationError

__all__ = ["TRUST_MODES", "list_identities", "set_trust_mode", "trust", "trust_mode"]

TRUST_MODES = ("on-first-use", "always", "never")
ACCOUNT_SELECTION = -32602  # signal-cli's code for an unknown or missing account
NO_ACCOUNT = "Specified account does not exist"  # signal-cli's text
ONE_MODE = (
    "Couldn't set trust mode - signal-cli applies one trust mode to all its accounts; "
    "set JSON_RPC_TRUST_NEW_IDENTITIES"
)


async def list_identities(backend: Backend, number: str) -> list[dict[str, Any]]:
    """`listIdentities` of `number`, in the Go project's field names."""
    try:
        found = await backend.rpc.call("listIdentities", {"account": number})
    except RpcError as exc:
        if exc.code == ACCOUNT_SELECTION:
            raise  # a wrong account is the request's fault: 400, not Go's 500
        raise InternalError(exc.message) from exc
    if not isinstance(found, list) or not all(isinstance(i, dict) for i in found):
        raise InternalError("Couldn't process request - invalid signal-cli response")
    return [
        {
            "number": i.get("number") or "",
            "status": i.get("trustLevel") or "",
            "fingerprint": i.get("fingerprint") or "",
            "added": str(i.get("addedTimestamp") or 0),
            "safety_number": i.get("safetyNumber") or "",
            "uuid": i.get("uuid") or "",
        }
        for i in found
    ]


async def trust(
    backend: Backend, number: str, recipient: str, safety_number: str | None, all_keys: bool
) -> None:
    """`trust` `recipient`'s key: the one `safety_number` verifies, or every known one."""
    params: dict[str, Any] = {"recipient": recipient, "account": number}
    if safety_number is not None:
        params["verified-safety-number"] = safety_number
    if all_keys:
        params["trust-all-known-keys"] = True
    await backend.rpc.call("trust", params)


async def _daemon_mode(backend: Backend, number: str) -> str:
    # signal-cli has no per-account setting to ask about; the account must still be one of its.
    accounts = await backend.rpc.call("listAccounts")
    if not any(isinstance(a, dict) and a.get("number") == number for a in accounts or []):
        raise ValidationError(NO_ACCOUNT)
    return backend.settings.trust_new_identities or "on-first-use"


async def trust_mode(backend: Backend, number: str) -> str:
    """The `--trust-new-identities` mode that applies to `number`: on the sandbox its own (or
    the daemon's), with signal-cli the daemon's, which every account shares."""
    if not backend.is_sandbox:
        return await _daemon_mode(backend, number)
    answer = await backend.rpc.call("sandbox.setTrustMode", {"account": number})
    return str(answer["mode"])


async def set_trust_mode(backend: Backend, number: str, mode: str) -> None:
    """Make `mode` apply to `number`'s new identities from now on."""
    if not backend.is_sandbox:
        if mode != await _daemon_mode(backend, number):
            raise ValidationError(ONE_MODE)
        return
    await backend.rpc.call("sandbox.setTrustMode", {"account": number, "mode": mode})
