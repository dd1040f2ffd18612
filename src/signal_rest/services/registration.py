"""What registering a number asks of signal-cli (`register`, `verify`), and its answers in REST
terms: signal-cli reports a verify with no code requested as a Java NullPointerException."""

from __future__ import annotations

from typing import Any

from signal_rest.backend import Backend
from signal_rest.errors import RpcError

__all__ = ["NO_REGISTRATION", "SMS_REFUSED", "register", "verify"]

SMS_REFUSED = (
    "Couldn't use SMS verification to register the specified number. Wait 60 seconds and try "
    'again with {"use_voice": true}'
)
NO_REGISTRATION = (
    "No registration is pending for {number}: request a code with POST /v1/register/{number} "
    "first; a code works once"
)
# signal-cli hands its missing verification session to the Signal library, which refuses it.
_NO_SESSION = "parameter sessionId (NullPointerException)"


async def register(backend: Backend, number: str, *, voice: bool, captcha: str) -> None:
    """Ask Signal to send `number` a code, by SMS or `voice` call."""
    params: dict[str, Any] = {"account": number}
    if voice:
        params["voice"] = True
    if captcha:
        params["captcha"] = captcha
    try:
        await backend.rpc.call("register", params)
    except RpcError as exc:
        if not voice and "StatusCode: 400 (InvalidTransportModeException)" in exc.message:
            raise RpcError(exc.code, SMS_REFUSED, exc.data) from exc
        raise


async def verify(backend: Backend, number: str, code: str, *, pin: str) -> None:
    """Finish registering `number` with the `code` Signal sent (and the registration-lock
    `pin`, if the number has one)."""
    params = {"account": number, "verificationCode": code}
    if pin:
        params["pin"] = pin
    try:
        await backend.rpc.call("verify", params)
    except RpcError as exc:
        if exc.message.endswith(_NO_SESSION):
            raise RpcError(exc.code, NO_REGISTRATION.format(number=number), exc.data) from exc
        raise
    backend.accounts.add(number)
