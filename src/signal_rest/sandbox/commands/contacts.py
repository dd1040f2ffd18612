"""listContacts, updateContact, sendContacts: an account's contact book (see contacts.py)."""

from __future__ import annotations

import re
from typing import Any

from .. import content
from ..context import Context
from ..errors import INTERNAL_ERROR, RpcError, user_error
from ..params import Params
from ..recipients import resolve
from .delivery import Targets, send

_UUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def _recipients(ctx: Context, values: list[str]) -> list[str]:
    """The numbers a `recipient` filter names; an ACI nobody holds matches no one."""
    numbers = []
    for value in values:
        if _UUID.match(value.strip()) and ctx.network.number_of_uuid(value.strip()) is None:
            continue
        numbers.append(resolve(ctx.network, value))
    return numbers


async def list_contacts(ctx: Context, raw: dict[str, Any]) -> Any:
    p = Params(raw)
    everyone = p.flag("allRecipients")
    blocked = p.optional_flag("blocked")
    wanted = p.items("recipient")
    numbers = _recipients(ctx, wanted) if wanted else None
    name = p.text("name")
    p.flag("detailed")  # JSON output is always detailed
    p.flag("internal")  # the sandbox models no capabilities or sealed-sender modes
    return ctx.network.contacts(
        ctx.me, everyone=everyone, blocked=blocked, numbers=numbers, name=name
    )


def _npe() -> RpcError:
    # CommandUtil.getSingleRecipientIdentifier(null) dereferences the missing recipient.
    return RpcError(
        INTERNAL_ERROR,
        'Cannot invoke "String.length()" because value is null (NullPointerException)',
    )


async def update_contact(ctx: Context, raw: dict[str, Any]) -> Any:
    network, p = ctx.network, Params(raw)
    text = p.text("recipient")
    if text is None:
        raise _npe()
    number = resolve(network, text)
    expiration = p.integer("expiration")
    if expiration is not None:
        network.set_expiration(ctx.me, number, expiration)
        # signal-cli tells the contact at once with an expiration-timer update, whose failure
        # (an unregistered contact) it does not report.
        timestamp = network.next_timestamp()
        update = content.data_message(timestamp, isExpirationUpdate=True)
        targets = Targets([number], [], [])
        send(
            network,
            ctx.sender,
            targets,
            timestamp,
            lambda _: {"dataMessage": dict(update)},
            check=False,
        )
    given, family = p.text("givenName"), p.text("familyName")
    if given is None and p.text("name") is not None:
        given = p.text("name")
        family = "" if family is None else family
    names = {
        "given_name": given,
        "family_name": family,
        "nick_given_name": p.text("nickGivenName"),
        "nick_family_name": p.text("nickFamilyName"),
        "note": p.text("note"),
    }
    if network.sender(ctx.me).device != 1:
        raise user_error("This command doesn't work on linked devices.")
    network.name_contact(ctx.me, number, names)
    return {}


async def send_contacts(ctx: Context, raw: dict[str, Any]) -> Any:
    """The contacts sync: the account's other devices get a CONTACTS_SYNC sync message."""
    network = ctx.network
    sender = ctx.sender
    timestamp = network.next_timestamp()
    envelope = network.envelope(sender, timestamp, {"syncMessage": {"type": "CONTACTS_SYNC"}})
    network.deliver_to_own_devices(sender, envelope)
    return {}
