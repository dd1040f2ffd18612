"""What the account-management routes ask of signal-cli: username, registration-lock PIN,
account settings and the rate-limit captcha (`/v1/accounts/{number}/…`)."""

from __future__ import annotations

from typing import Any

from signal_rest.backend import Backend
from signal_rest.errors import DaemonError

__all__ = [
    "delete_username",
    "remove_pin",
    "set_pin",
    "set_username",
    "submit_rate_limit_challenge",
    "update_settings",
]


async def set_username(backend: Backend, account: str, username: str) -> dict[str, Any]:
    """Claim `username` (`nick` gets a free discriminator, `nick.42` exactly that one); the
    username Signal gave and its link, as the Go project names them."""
    result = await backend.rpc.call("updateAccount", {"username": username, "account": account})
    if not isinstance(result, dict) or not isinstance(result.get("username"), str):
        raise DaemonError("Couldn't process request - invalid signal-cli response")
    return {"username": result["username"], "username_link": result.get("usernameLink")}


async def delete_username(backend: Backend, account: str) -> None:
    await backend.rpc.call("updateAccount", {"deleteUsername": True, "account": account})


async def set_pin(backend: Backend, account: str, pin: str) -> None:
    await backend.rpc.call("setPin", {"pin": pin, "account": account})


async def remove_pin(backend: Backend, account: str) -> None:
    await backend.rpc.call("removePin", {"account": account})


async def update_settings(
    backend: Backend, account: str, *, discoverable: bool | None, share_number: bool | None
) -> None:
    """Change what is given; a setting left out stays as it is (the Go project sends null)."""
    params: dict[str, Any] = {"account": account}
    if discoverable is not None:
        params["discoverableByNumber"] = discoverable
    if share_number is not None:
        params["numberSharing"] = share_number
    await backend.rpc.call("updateAccount", params)


async def submit_rate_limit_challenge(
    backend: Backend, account: str, challenge: str, captcha: str
) -> None:
    params = {"challenge": challenge, "captcha": captcha, "account": account}
    await backend.rpc.call("submitRateLimitChallenge", params)
