"""Control methods (`sandbox.*`): what tests do as the outside world — phones, SMS, Signal staff."""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..errors import user_error
from ..network import E164, Network
from ..stickers import create as create_pack
from .groups import update_group_as
from .messaging import send_as


def _number(raw: dict[str, Any], key: str = "number") -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise user_error(f"Missing {key} parameter")
    if not E164.match(value):
        raise user_error(f"Invalid number '{value}': expected E.164, e.g. +14155550100")
    return value


def _actor(network: Network, raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rest = dict(raw)
    number = _number(rest, "from")
    del rest["from"]
    rest.pop("account", None)
    if not network.is_registered(number):
        raise user_error(f"The user {number} is not registered.")
    return number, rest


async def get_verification_code(ctx: Context, raw: dict[str, Any]) -> Any:
    number = _number(raw)
    row = ctx.network.store.one("SELECT code, transport FROM codes WHERE number = ?", number)
    if row is None:
        raise user_error(f"No verification code pending for {number}")
    return {"number": number, "code": row["code"], "transport": row["transport"]}


async def send(ctx: Context, raw: dict[str, Any]) -> Any:
    number, rest = _actor(ctx.network, raw)
    return send_as(ctx.network, number, rest)


# What an outside user can do to accounts with `sandbox.act`: the send-like methods, run as if
# the outside user's phone called them. A method joins this list when its handler works for a
# sender that is no local account (see messaging.py).
ACTS = ("send", "sendReaction", "sendTyping", "sendReceipt", "remoteDelete")


async def act(ctx: Context, raw: dict[str, Any]) -> Any:
    """`{"from": number, "method": name, "params": {...}}`: an outside user runs a send-like
    method with signal-cli's params; the result is that method's result."""
    number, rest = _actor(ctx.network, raw)
    method = rest.get("method")
    if method not in ACTS:
        raise user_error(f"method must be one of: {', '.join(ACTS)}")
    params = rest.get("params", {})
    if not isinstance(params, dict):
        raise user_error("params must be an object")
    from . import COMMANDS  # the table imports this module

    return await COMMANDS[method].handler(Context(ctx.network, ctx.links, number), params)


async def update_group(ctx: Context, raw: dict[str, Any]) -> Any:
    number, rest = _actor(ctx.network, raw)
    invite = rest.pop("invite", None) or []
    if not isinstance(invite, list) or not all(
        isinstance(n, str) and E164.match(n) for n in invite
    ):
        raise user_error("invite must be a list of E.164 numbers")
    return update_group_as(ctx.network, number, rest, invite)


async def list_received(ctx: Context, raw: dict[str, Any]) -> Any:
    return ctx.network.store.received(_number(raw))


async def scan_link(ctx: Context, raw: dict[str, Any]) -> Any:
    uri = raw.get("deviceLinkUri")
    if not isinstance(uri, str) or not uri:
        raise user_error("Missing deviceLinkUri parameter")
    number = _number(raw)
    if not ctx.network.is_registered(number):
        raise user_error(f"The user {number} is not registered.")
    ctx.links.scan(uri, number)
    return {}


async def set_number(ctx: Context, raw: dict[str, Any]) -> Any:
    number = _number(raw)
    changes: dict[str, Any] = {}
    for key in ("registered", "requiresCaptcha"):
        if key in raw:
            if not isinstance(raw[key], bool):
                raise user_error(f"{key} must be a boolean")
            changes[key] = raw[key]
    if "registrationLockPin" in raw:
        pin = raw["registrationLockPin"]
        if pin is not None and not isinstance(pin, str):
            raise user_error("registrationLockPin must be a string or null")
        changes["registrationLockPin"] = pin
    return ctx.network.update_settings(number, changes).to_json()


async def create_sticker_pack(ctx: Context, raw: dict[str, Any]) -> Any:
    """`{"from", "title", "author", "stickers": [{"emoji", "data": base64}]}`: `from` uploads a
    pack to the network (signal-cli's uploadStickerPack) and knows it from then on."""
    number, rest = _actor(ctx.network, raw)
    return create_pack(ctx.network, number, rest)
