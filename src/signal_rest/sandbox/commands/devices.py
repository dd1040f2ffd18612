"""listDevices, addDevice, removeDevice, unregister, deleteLocalAccountData (see devices.py)."""

from __future__ import annotations

import binascii
import re
from typing import Any
from urllib.parse import unquote_plus

from ..context import Context
from ..devices import MAX_DEVICES
from ..errors import INTERNAL_ERROR, IO_ERROR, RpcError, user_error
from ..network import PHONE
from ..params import Params
from ..recipients import java_b64decode

NOT_PRIMARY = "This command doesn't work on linked devices."
INVALID_LINK = "Invalid device link"
STILL_REGISTERED = (
    "Not deleting account, it is still registered. Use --ignore-registered to delete it anyway."
)
# What java.net.URI refuses anywhere in a URI (as far as device links go).
_URI_ILLEGAL = re.compile(r'[\x00-\x20"<>\\^`{|}\x7f]')


async def list_devices(ctx: Context, raw: dict[str, Any]) -> Any:
    return ctx.network.devices(ctx.me)


def _uri_error(uri: str) -> str | None:
    """java.net.URI's complaint about `uri` (the common cases), or None when it parses."""
    match = _URI_ILLEGAL.search(uri)
    if match is None:
        return None
    index = match.start()
    query, fragment = uri.find("?"), uri.find("#")
    if 0 <= fragment < index:
        part = "fragment"
    elif 0 <= query < index:
        part = "query"
    elif (
        "://" in uri
        and index > uri.index("://") + 2
        and "/" not in uri[uri.index("://") + 3 : index]
    ):
        part = "authority"
    else:
        part = "path"
    return f"Illegal character in {part} at index {index}: {uri}"


def link_identifier(uri: str | None) -> str:
    """The new device's identifier in a device-link URI, checked as signal-cli checks it."""
    if uri is None:
        raise RpcError(
            INTERNAL_ERROR,
            'Cannot invoke "String.length()" because "this.input" is null (NullPointerException)',
        )
    problem = _uri_error(uri)
    if problem is not None:
        raise user_error(f"Device link uri has invalid format: {problem}")
    query = uri.partition("#")[0].partition("?")[2]
    if not query:
        raise RpcError(INTERNAL_ERROR, "Invalid device link uri (RuntimeException)")
    fields: dict[str, str] = {}
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        fields.setdefault(key, unquote_plus(value))
    identifier, key = fields.get("uuid", ""), fields.get("pub_key", "")
    if not identifier or not key:
        raise user_error(INVALID_LINK)
    try:
        public_key = java_b64decode(key)
    except (ValueError, binascii.Error):
        raise user_error(INVALID_LINK) from None
    if len(public_key) != 33 or public_key[0] != 5:
        raise user_error(INVALID_LINK)
    return identifier


def _primary_only(ctx: Context) -> None:
    if ctx.network.local_device(ctx.me) != PHONE:
        raise user_error(NOT_PRIMARY)


async def add_device(ctx: Context, raw: dict[str, Any]) -> Any:
    identifier = link_identifier(Params(raw).text("uri"))
    _primary_only(ctx)
    if ctx.network.device_count(ctx.me) >= MAX_DEVICES:
        raise user_error("Account has too many linked devices already")
    if ctx.network.link_offered_device(ctx.me, identifier) is None:
        # The server knows no new device waiting under that identifier.
        raise RpcError(IO_ERROR, "Add device link failed")
    return {}


async def remove_device(ctx: Context, raw: dict[str, Any]) -> Any:
    device = Params(raw).integer("deviceId")
    if device is None:
        raise RpcError(
            INTERNAL_ERROR,
            'Cannot invoke "java.lang.Integer.intValue()" because the return value of '
            '"net.sourceforge.argparse4j.inf.Namespace.getInt(String)" is null '
            "(NullPointerException)",
        )
    _primary_only(ctx)
    if device == PHONE:
        # Signal's server refuses to remove a primary device.
        raise RpcError(IO_ERROR, "Error while removing device: [403] Authorization failed!")
    ctx.network.remove_device(ctx.me, device)  # an unknown id is no error
    return {}


async def unregister(ctx: Context, raw: dict[str, Any]) -> Any:
    delete_account = Params(raw).flag("deleteAccount")
    network, number = ctx.network, ctx.me
    device = network.local_device(number) or PHONE
    network.unregister(number, device, delete_account=delete_account)
    network.on_account_gone(number)
    return {}


async def delete_local_account_data(ctx: Context, raw: dict[str, Any]) -> Any:
    ignore = Params(raw).flag("ignoreRegistered")
    network, number = ctx.network, ctx.me
    loaded = network.is_local(number)
    if loaded and network.is_registered(number) and not ignore:
        raise user_error(STILL_REGISTERED)
    network.delete_local_data(number)
    if loaded:
        network.on_account_gone(number)
    return {}
