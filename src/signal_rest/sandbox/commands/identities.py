"""listIdentities and trust."""

from __future__ import annotations

from typing import Any

from .. import identities
from ..context import Context
from ..errors import INTERNAL_ERROR, RpcError, user_error
from ..params import Params
from ..recipients import resolve

NO_CODE = (
    "You need to specify the fingerprint/safety number you have verified with -v SAFETY_NUMBER"
)
BAD_CODE = (
    "Safety number has invalid format, either specify the old hex fingerprint or the new "
    "safety number"
)
NOT_TRUSTED = (
    "Failed to set the trust for this number, make sure the number and the "
    "fingerprint/safety number are correct."
)
NOT_TRUSTED_ALL = "Failed to set the trust for this number, make sure the number is correct."


def _recipient(ctx: Context, text: str | None) -> str:
    if text is None:
        # RecipientIdentifier.Single.fromString calls identifier.startsWith("PNI:") first.
        raise RpcError(
            INTERNAL_ERROR,
            'Cannot invoke "String.startsWith(String)" because "identifier" is null '
            "(NullPointerException)",
        )
    return resolve(ctx.network, text)


async def list_identities(ctx: Context, raw: dict[str, Any]) -> Any:
    text = Params(raw).text("number")
    number = None if text is None else resolve(ctx.network, text)
    return identities.listing(ctx.network, ctx.me, number)


async def trust(ctx: Context, raw: dict[str, Any]) -> Any:
    p = Params(raw)
    number = _recipient(ctx, p.text("recipient"))
    if p.flag("trustAllKnownKeys"):
        if not identities.trust(ctx.network, ctx.me, number, None):
            raise user_error(NOT_TRUSTED_ALL)
        return {}
    code = p.text("verifiedSafetyNumber")
    if code is None:
        raise user_error(NO_CODE)
    try:
        parsed = identities.parse_code(code)
    except ValueError:
        raise user_error(BAD_CODE) from None
    if not identities.trust(ctx.network, ctx.me, number, parsed):
        raise user_error(NOT_TRUSTED)
    return {}
