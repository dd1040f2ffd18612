"""Account-level methods: version, accounts, registration, linking, devices, status, blocking,
usernames and profiles."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from .. import restrictions, usernames
from ..context import Context
from ..errors import INTERNAL_ERROR, IO_ERROR, RpcError, user_error
from ..network import E164, Network
from ..params import Params, typed
from ..recipients import group_id, java_b64decode, resolve

VERSION = "0.13.19"
CAPTCHA_REQUIRED = (
    "Captcha required for verification, use --captcha CAPTCHA\n"
    "To get the token, go to https://signalcaptchas.org/registration/generate.html\n"
    'After solving the captcha, right-click on the "Open Signal" link and copy the link.'
)
VOICE_BEFORE_SMS = (
    "Failed to register: Invalid verification method: Before requesting voice verification you "
    "need to request SMS verification and wait a minute."
)
# What 0.13.19 answers when verify runs without a preceding register (no session id).
NO_SESSION = (
    "Parameter specified as non-null is null: method org.whispersystems.signalservice.api."
    "registration.RegistrationApi.verifyAccount, parameter sessionId (NullPointerException)"
)
LOCKED_HOURS = 7 * 24


async def version(ctx: Context, raw: dict[str, Any]) -> Any:
    return {"version": VERSION}


async def list_accounts(ctx: Context, raw: dict[str, Any]) -> Any:
    return [{"number": n} for n in ctx.network.local_accounts()]


async def register(ctx: Context, raw: dict[str, Any]) -> Any:
    p = typed(
        raw,
        "org.asamk.signal.commands.RegisterCommand$RegistrationParams",
        {"voice": "Boolean", "reregister": "Boolean", "captcha": "String"},
    )
    network, number = ctx.network, ctx.me
    if not E164.match(number):
        raise user_error("Invalid account (phone number), make sure you include the country code.")
    if network.is_local(number) and not p["reregister"]:
        raise RpcError(IO_ERROR, "Failed to register: Account is already registered (IOException)")
    captcha = str(p["captcha"] or "").removeprefix("signalcaptcha://").strip()
    if network.settings(number).requires_captcha and not captcha:
        raise user_error(CAPTCHA_REQUIRED)
    pending = network.store.one("SELECT transport FROM codes WHERE number = ?", number)
    if p["voice"] and pending is None:
        raise user_error(VOICE_BEFORE_SMS)
    code = f"{secrets.randbelow(900_000) + 100_000}"
    transport = "voice" if p["voice"] else "sms"
    network.store.run(
        "INSERT OR REPLACE INTO codes (number, code, transport) VALUES (?, ?, ?)",
        number,
        code,
        transport,
    )
    return {}


async def verify(ctx: Context, raw: dict[str, Any]) -> Any:
    p = typed(
        raw,
        "org.asamk.signal.commands.VerifyCommand$VerifyParams",
        {"verificationCode": "String", "pin": "String"},
    )
    network, number = ctx.network, ctx.me
    row = network.store.one("SELECT code FROM codes WHERE number = ?", number)
    if row is None:
        raise RpcError(INTERNAL_ERROR, NO_SESSION)
    if str(p["verificationCode"] or "").replace("-", "") != row["code"]:
        raise RpcError(IO_ERROR, "Verify error: [403] Authorization failed!")
    lock = network.store.one("SELECT pin, pin_tries FROM numbers WHERE number = ?", number)
    if lock is not None and lock["pin"] is not None:
        if p["pin"] is None:
            raise user_error(
                "Verification failed! This number is locked with a pin. Hours remaining until "
                f"reset: {LOCKED_HOURS}\nUse '--pin PIN_CODE' to specify the registration lock PIN"
            )
        if p["pin"] != lock["pin"]:
            tries = max(0, int(lock["pin_tries"]) - 1)
            network.store.run("UPDATE numbers SET pin_tries = ? WHERE number = ?", tries, number)
            raise user_error(f"Verification failed! Invalid pin, tries remaining: {tries}")
    network.store.run("DELETE FROM codes WHERE number = ?", number)
    network.store.run("UPDATE numbers SET pin_tries = 10 WHERE number = ?", number)
    network.add_account(number, None, linked=False)
    return {}


async def start_link(ctx: Context, raw: dict[str, Any]) -> Any:
    return {"deviceLinkUri": ctx.links.start()}


_URI_FORBIDDEN = set(' "<>\\^`{|}')


async def finish_link(ctx: Context, raw: dict[str, Any]) -> Any:
    p = typed(
        raw,
        "org.asamk.signal.commands.FinishLinkCommand$FinishLinkParams",
        {"deviceName": "String", "deviceLinkUri": "String"},
    )
    uri = p["deviceLinkUri"]
    if uri is None:
        raise user_error("Missing deviceLinkUri.")
    text = str(uri)
    if any(c in _URI_FORBIDDEN or ord(c) < 32 for c in text):
        raise user_error("Invalid device link uri.")
    number = await ctx.links.wait(text)
    if ctx.network.is_local(number):
        path = ctx.network.data_dir / "data" / number
        raise user_error(f'The user {number} already exists\nDelete "{path}" before trying again.')
    ctx.network.add_account(number, str(p["deviceName"] or "cli"), linked=True)
    return {"number": number}


async def get_user_status(ctx: Context, raw: dict[str, Any]) -> Any:
    network, p = ctx.network, Params(raw)
    out: list[dict[str, Any]] = []
    for value in p.items("recipient"):
        number = resolve(network, value)
        # Contact discovery finds no one who turned off being found by number.
        findable = number == ctx.me or restrictions.discoverable(network, number)
        registered = findable and network.is_registered(number)
        out.append(
            {
                "recipient": value,
                "number": number,
                "uuid": network.uuid_of(number) if registered else None,
                "isRegistered": registered,
            }
        )
    for name in p.items("username"):
        found = lookup_username(network, ctx.me, name)
        out.append(
            {
                "recipient": name,
                "username": name,
                "uuid": None if found is None else network.uuid_of(found),
                "isRegistered": found is not None,
            }
        )
    return out


def lookup_username(network: Network, viewer: str, name: str) -> str | None:
    """The number holding a username (or username link); the viewer learns the username."""
    if usernames.link_key(name) is None:
        try:
            usernames.parse(name)
        except usernames.UsernameError as exc:
            raise usernames.lookup_failure(exc) from None
    number = network.number_of_username(name)
    if number is not None:
        # A link reveals the username behind it; a name is kept as it was typed.
        if usernames.link_key(name) is not None:
            name = network.username_of(number) or name
        network.learn_username(viewer, number, name)
    return number


def set_username(network: Network, number: str, text: str) -> dict[str, Any]:
    """What updateAccount's `username` does: `nick` gets a free discriminator, `nick.42`
    exactly that username; the result is signal-cli's `{"username", "usernameLink"}`."""
    current = network.username_of(number)
    try:
        if "." in text:
            wanted = [usernames.parse(text)]
        elif current is not None and current.rpartition(".")[0] == text:
            wanted = [current]  # signal-cli keeps a username with the same nickname
        else:
            wanted = usernames.candidates(text)
    except usernames.UsernameError as exc:
        raise usernames.invalid(exc) from None
    if wanted == [current]:
        chosen: str | None = current
    else:
        chosen = network.claim_username(number, wanted)
    if chosen is None:
        raise user_error("Invalid username: Username is already registered")
    return {"username": chosen, "usernameLink": network.username_link(number)}


async def update_account(ctx: Context, raw: dict[str, Any]) -> Any:
    p = Params(raw)
    p.flag("unrestrictedUnidentifiedSender")  # accepted; the sandbox has no sealed sender
    discoverable, sharing = p.flag("discoverableByNumber"), p.flag("numberSharing")
    if p.has("discoverableByNumber") or p.has("numberSharing"):
        restrictions.set_discovery(
            ctx.network,
            ctx.me,
            discoverable=discoverable if p.has("discoverableByNumber") else None,
            number_sharing=sharing if p.has("numberSharing") else None,
        )
    device_name = p.text("deviceName")
    if device_name is not None:
        ctx.network.store.run(
            "UPDATE devices SET name = ? WHERE number = ? AND device_id = ?",
            device_name,
            ctx.me,
            ctx.network.sender(ctx.me).device,
        )
    result: Any = {}
    username = p.text("username")
    if username is not None:
        result = set_username(ctx.network, ctx.me, username)
    if p.flag("deleteUsername"):
        ctx.network.delete_username(ctx.me)
    return result


_PROFILE_TEXTS = (
    ("givenName", "given_name"),
    ("familyName", "family_name"),
    ("about", "about"),
    ("aboutEmoji", "about_emoji"),
)


async def update_profile(ctx: Context, raw: dict[str, Any]) -> Any:
    p = Params(raw)
    changes: dict[str, Any] = {}
    for param, column in _PROFILE_TEXTS:
        value = p.text(param)
        if value is not None:
            changes[column] = value
    coin = p.text("mobileCoinAddress")
    if coin is not None:
        try:
            java_b64decode(coin)  # checked like signal-cli does, then not modelled
        except ValueError as exc:
            raise RpcError(INTERNAL_ERROR, f"{exc} (IllegalArgumentException)") from None
    avatar = p.text("avatar")
    if p.flag("removeAvatar"):
        changes["avatar"] = None
    elif avatar is not None:
        try:
            changes["avatar"] = Path(avatar).read_bytes()
        except OSError as exc:
            raise RpcError(IO_ERROR, f"Update profile error: {avatar} ({exc.strerror})") from None
    ctx.network.update_profile(ctx.me, changes)
    return {}


def _primary_only(ctx: Context) -> None:
    if ctx.network.sender(ctx.me).device != 1:
        raise user_error("This command doesn't work on linked devices.")


async def block(ctx: Context, raw: dict[str, Any]) -> Any:
    _primary_only(ctx)
    for target in _block_targets(ctx, raw):
        ctx.network.store.run(
            "INSERT OR IGNORE INTO blocked (account, target) VALUES (?, ?)", ctx.me, target
        )
    for recipient in Params(raw).items("recipient"):
        ctx.network.meet(ctx.me, resolve(ctx.network, recipient))  # a blocked contact is listed
    return {}


async def unblock(ctx: Context, raw: dict[str, Any]) -> Any:
    _primary_only(ctx)
    for target in _block_targets(ctx, raw):
        ctx.network.store.run(
            "DELETE FROM blocked WHERE account = ? AND target = ?", ctx.me, target
        )
    return {}


def _block_targets(ctx: Context, raw: dict[str, Any]) -> list[str]:
    p = Params(raw)
    numbers = [resolve(ctx.network, r) for r in p.items("recipient")]
    return numbers + [group_id(g) for g in p.items("groupId")]
