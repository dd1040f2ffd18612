"""Control methods (`sandbox.*`): what tests do as the outside world — phones, SMS, Signal staff."""

from __future__ import annotations

import base64
from typing import Any

from .. import identities
from ..context import Context
from ..errors import user_error
from ..links import new_link_uri
from ..network import E164, PHONE, Network
from ..stickers import create as create_pack
from .accounts import set_username
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
    """`send` from the phone of `from`: an outside user, a registered account (its phone is
    this daemon's device), or the phone of an account linked here (see network.py)."""
    number, rest = _actor(ctx.network, raw)
    return send_as(ctx.network, number, rest, PHONE)


# What an outside user can do to accounts with `sandbox.act`: the send-like methods, and
# updateContact (a chat's disappearing-message timer), run as if the user's phone called them.
# A method joins this list when its handler works for a sender that is no local account (see
# messaging.py).
ACTS = (
    "send",
    "sendReaction",
    "sendTyping",
    "sendReceipt",
    "remoteDelete",
    "sendPollCreate",
    "sendPollVote",
    "sendPollTerminate",
    "sendPinMessage",
    "sendUnpinMessage",
    "updateContact",
)


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

    actor = Context(ctx.network, ctx.links, number, PHONE)
    return await COMMANDS[method].handler(actor, params)


async def update_group(ctx: Context, raw: dict[str, Any]) -> Any:
    number, rest = _actor(ctx.network, raw)
    invite = rest.pop("invite", None) or []
    if not isinstance(invite, list) or not all(
        isinstance(n, str) and E164.match(n) for n in invite
    ):
        raise user_error("invite must be a list of E.164 numbers")
    return update_group_as(ctx.network, number, rest, invite)


async def list_received(ctx: Context, raw: dict[str, Any]) -> Any:
    """What the phone of `number` received; with `device` (2, 3, …) what that linked device
    outside this daemon received (see devices.py)."""
    number = _number(raw)
    device = raw.get("device", PHONE)
    if type(device) is not int or device < PHONE:
        raise user_error("device must be a device id (1 is the phone)")
    if device == PHONE:
        return ctx.network.store.received(number)
    return ctx.network.device_received(number, device)


async def count_received(ctx: Context, raw: dict[str, Any]) -> Any:
    """`{"number"}`: how many envelopes the phone of `number` has received, without them (a
    benchmark's hundred thousand sends would make `listReceived` a large answer)."""
    number = _number(raw)
    row = ctx.network.store.one("SELECT COUNT(*) AS n FROM received WHERE number = ?", number)
    return {"number": number, "count": row["n"] if row else 0}


async def new_device(ctx: Context, raw: dict[str, Any]) -> Any:
    """`{"name"?}`: a new device (a Signal Desktop, say) shows the URI to link it; an account's
    `addDevice` with that URI links it as that account's next device."""
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise user_error("name must be a string")
    uri, identifier = new_link_uri()
    ctx.network.offer_device(identifier, name)
    return {"deviceLinkUri": uri}


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
    if "username" in raw:
        # `nick` gets a free discriminator, `nick.42` exactly that one, null removes it; done
        # first so a refused username changes nothing.
        name = raw["username"]
        if name is None:
            ctx.network.delete_username(number)
        elif isinstance(name, str):
            set_username(ctx.network, number, name)
        else:
            raise user_error("username must be a string or null")
    settings = ctx.network.update_settings(number, changes).to_json()
    return {
        **settings,
        "username": ctx.network.username_of(number),
        "usernameLink": ctx.network.username_link(number),
    }


_PROFILE_FIELDS = {
    "givenName": "given_name",
    "familyName": "family_name",
    "about": "about",
    "aboutEmoji": "about_emoji",
}


async def set_profile(ctx: Context, raw: dict[str, Any]) -> Any:
    """`{"number", "givenName"?, "familyName"?, "about"?, "aboutEmoji"?, "avatar"?: base64 |
    null}`: what a user publishes in its profile; absent fields stay, null clears."""
    number = _number(raw)
    changes: dict[str, Any] = {}
    for key, column in _PROFILE_FIELDS.items():
        if key in raw:
            if raw[key] is not None and not isinstance(raw[key], str):
                raise user_error(f"{key} must be a string or null")
            changes[column] = raw[key]
    if "avatar" in raw:
        avatar = raw["avatar"]
        if avatar is not None and not isinstance(avatar, str):
            raise user_error("avatar must be base64 or null")
        try:
            changes["avatar"] = None if avatar is None else base64.b64decode(avatar, validate=True)
        except ValueError:  # binascii.Error, or a non-ASCII string
            raise user_error("avatar must be base64 or null") from None
    ctx.network.update_profile(number, changes)
    profile = ctx.network.profile(number)
    assert profile is not None
    return {"number": number, **profile}


async def create_sticker_pack(ctx: Context, raw: dict[str, Any]) -> Any:
    """`{"from", "title", "author", "stickers": [{"emoji", "data": base64}]}`: `from` uploads a
    pack to the network (signal-cli's uploadStickerPack) and knows it from then on."""
    number, rest = _actor(ctx.network, raw)
    return create_pack(ctx.network, number, rest)


async def reinstall(ctx: Context, raw: dict[str, Any]) -> Any:
    """`{"number"}`: the user reinstalls Signal and has a new identity key; accounts that knew
    the old one no longer trust it (unless their trust mode is `always`)."""
    number = _number(raw)
    if not ctx.network.is_registered(number):
        raise user_error(f"The user {number} is not registered.")
    key = identities.reinstall(ctx.network, number)
    return {"number": number, "fingerprint": " ".join(f"{b:02x}" for b in key)}


async def set_trust_mode(ctx: Context, raw: dict[str, Any]) -> Any:
    """`{"account", "mode"}`: what `--trust-new-identities` is for one local account
    (`mode` null: the daemon's again). Answers the mode that applies now."""
    number = _number(raw, "account")
    if not ctx.network.is_local(number):
        raise user_error("Specified account does not exist")
    mode = raw.get("mode")
    if mode is not None and mode not in identities.TRUST_MODES:
        raise user_error(f"mode must be one of: {', '.join(identities.TRUST_MODES)}")
    if "mode" in raw:
        identities.set_mode(ctx.network, number, mode)
    return {"account": number, "mode": identities.mode_of(ctx.network, number)}
