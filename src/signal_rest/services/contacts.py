"""Contacts: an account's contact list, a contact's details and avatar, naming a contact and
its disappearing-message timer, and syncing the list to linked devices.

    await list_contacts(backend, "+4915…", all_recipients=False)   # [{"number", "uuid", …}]
    await update_contact(backend, "+4915…", "+4916…", name="Bob", expiration=3600)

Entries use the Go project's field names, filled from what signal-cli's listContacts emits
(`isBlocked`, `messageExpirationTime`, the profile's names), which the Go project misses.
"""

from __future__ import annotations

from typing import Any

from signal_rest.backend import Backend
from signal_rest.errors import NotFound, ValidationError
from signal_rest.services.avatars import Avatar, person_avatar

__all__ = [
    "contact_avatar",
    "contact_entry",
    "find_contact",
    "list_contacts",
    "sync_contacts",
    "update_contact",
]

INVALID_RESPONSE = "Couldn't process request - invalid signal-cli response"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _joined(given: Any, family: Any) -> str:
    """A profile's display name as Signal apps show it: given and family name."""
    return " ".join(part for part in (_text(given), _text(family)) if part)


def contact_entry(contact: dict[str, Any]) -> dict[str, Any]:
    """One listContacts item in the Go project's shape."""
    profile = contact.get("profile")
    profile = profile if isinstance(profile, dict) else {}
    expiration = contact.get("messageExpirationTime")
    stamp = profile.get("lastUpdateTimestamp")
    return {
        "number": _text(contact.get("number")),
        "uuid": _text(contact.get("uuid")),
        "name": _text(contact.get("name")),
        "profile_name": _joined(profile.get("givenName"), profile.get("familyName")),
        "username": _text(contact.get("username")),
        "color": _text(contact.get("color")),
        "blocked": contact.get("isBlocked") is True,
        "message_expiration": str(expiration) if isinstance(expiration, int) else "0",
        "note": _text(contact.get("note")),
        "profile": {
            "given_name": _text(profile.get("givenName")),
            "lastname": _text(profile.get("familyName")),
            "about": _text(profile.get("about")),
            "has_avatar": profile.get("hasAvatar") is True,
            "last_updated_timestamp": stamp if isinstance(stamp, int) else 0,
        },
        "given_name": _text(contact.get("givenName")),
        "nickname": {
            "name": _text(contact.get("nickName")),
            "given_name": _text(contact.get("nickGivenName")),
            "family_name": _text(contact.get("nickFamilyName")),
        },
    }


async def _list(backend: Backend, params: dict[str, Any]) -> list[dict[str, Any]]:
    contacts = await backend.rpc.call("listContacts", params)
    if not isinstance(contacts, list) or not all(isinstance(c, dict) for c in contacts):
        raise ValidationError(INVALID_RESPONSE)
    return [contact_entry(c) for c in contacts]


async def list_contacts(
    backend: Backend, number: str, *, all_recipients: bool
) -> list[dict[str, Any]]:
    """The account's contacts; with `all_recipients` everyone it knows."""
    params: dict[str, Any] = {"account": number}
    if all_recipients:
        params["allRecipients"] = True
    return await _list(backend, params)


async def find_contact(
    backend: Backend, number: str, uuid: str, *, all_recipients: bool
) -> dict[str, Any]:
    """The contact with the ACI `uuid`; NotFound when the account has no such contact."""
    params: dict[str, Any] = {"recipient": uuid, "account": number}
    if all_recipients:
        params["allRecipients"] = True
    found = await _list(backend, params)
    if not found:
        raise NotFound(f"No user with that id ({uuid}) found")
    return found[0]


async def contact_avatar(backend: Backend, number: str, uuid: str) -> Avatar:
    """The profile avatar of the contact `uuid`; every failure is a 400, as in the Go project."""
    try:
        return await person_avatar(backend, number, uuid)
    except NotFound as exc:
        raise ValidationError(exc.message) from exc


async def update_contact(
    backend: Backend, number: str, recipient: str, *, name: str, expiration: int | None
) -> None:
    """Name the contact (when `name` is not empty) and set its timer (when given, 0 = off)."""
    params: dict[str, Any] = {"recipient": recipient}
    if name:
        params["name"] = name
    if expiration is not None:
        params["expiration"] = expiration
    params["account"] = number
    await backend.rpc.call("updateContact", params)


async def sync_contacts(backend: Backend, number: str) -> None:
    """`sendContacts`: the account's linked devices get its contact list."""
    await backend.rpc.call("sendContacts", {"account": number})
