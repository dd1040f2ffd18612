"""setPin, removePin, submitRateLimitChallenge, and the control method that rate-limits an
account (see restrictions.py for what the server enforces)."""

from __future__ import annotations

from typing import Any

from .. import restrictions
from ..context import Context
from ..errors import INTERNAL_ERROR, RpcError, user_error
from ..network import E164
from ..params import Params

CAPTCHA_REJECTED = (
    "Captcha rejected, it may be outdated, already used or solved from a different IP address."
)


def _primary_only(ctx: Context) -> None:
    if ctx.network.sender(ctx.me).device != 1:
        raise user_error("This command doesn't work on linked devices.")


def _set_lock(ctx: Context, pin: str | None) -> None:
    ctx.network.update_settings(ctx.me, {"registrationLockPin": pin})


async def set_pin(ctx: Context, raw: dict[str, Any]) -> Any:
    pin = Params(raw).text("pin")
    if pin is None:
        # Optional.of(null) throws before signal-cli's own error handling.
        raise RpcError(INTERNAL_ERROR, "null (NullPointerException)")
    _primary_only(ctx)
    _set_lock(ctx, pin)
    return {}


async def remove_pin(ctx: Context, raw: dict[str, Any]) -> Any:
    _primary_only(ctx)
    _set_lock(ctx, None)
    return {}


async def submit_rate_limit_challenge(ctx: Context, raw: dict[str, Any]) -> Any:
    """The server lifts the limit for the token it handed out with any solved captcha; a wrong
    token, no captcha or no limit at all is a rejected captcha."""
    p = Params(raw)
    challenge = p.text("challenge") or ""
    captcha = (p.text("captcha") or "").removeprefix("signalcaptcha://").strip()
    if not captcha or not restrictions.lift(ctx.network, ctx.me, challenge):
        raise user_error(CAPTCHA_REJECTED)
    return {}


async def rate_limit(ctx: Context, raw: dict[str, Any]) -> Any:
    """`{"number", "challenge"?}`: the server demands a captcha from `number` before it sends
    again; `challenge` is the token it hands out (default: a new one)."""
    number = raw.get("number")
    if not isinstance(number, str) or not E164.match(number):
        raise user_error("number must be an E.164 number, e.g. +14155550100")
    token = raw.get("challenge")
    if token is not None and (not isinstance(token, str) or not token):
        raise user_error("challenge must be a non-empty string")
    limit = restrictions.impose(ctx.network, number, token)
    return {"number": number, "challenge": limit.token, "retryAfterSeconds": limit.retry_after}
