"""Contacts on the sandbox: listContacts, updateContact and sendContacts as signal-cli 0.13.19
answers them (JsonContact's fields, its filters and its errors)."""

from __future__ import annotations

from typing import Any

from .client import LineClient
from .conftest import make_account

ALICE = "+14155550100"  # local
BOB = "+14155550101"  # local
CAROL = "+14155550102"  # outside user
DAVE = "+14155550103"  # outside user


def err(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "data": None}


def cast(source: str, target: str) -> dict[str, Any]:
    return err(
        -32603,
        f"class {source} cannot be cast to class {target} ({source} and {target} are in module "
        "java.base of loader 'bootstrap') (ClassCastException)",
    )


async def uuid_of(rpc: LineClient, number: str) -> str:
    status = await rpc.call("getUserStatus", {"account": ALICE, "recipient": number})
    return str(status[0]["uuid"])


def contact(number: str, uuid: str | None, **fields: Any) -> dict[str, Any]:
    """signal-cli 0.13.19's JsonContact (it has no isArchived yet), no profile known."""
    return {
        "number": number,
        "uuid": uuid,
        "username": None,
        "name": None,
        "givenName": None,
        "familyName": None,
        "nickName": None,
        "nickGivenName": None,
        "nickFamilyName": None,
        "note": None,
        "color": None,
        "isBlocked": False,
        "isHidden": False,
        "messageExpirationTime": 0,
        "profileSharing": False,
        "unregistered": False,
        "profile": None,
        **fields,
    }


async def test_list_contacts_shows_whom_the_account_messaged_named_or_blocked(
    rpc: LineClient,
) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": "hi"})
    await rpc.call("sandbox.send", {"from": DAVE, "recipient": ALICE, "message": "hello"})
    await rpc.call(
        "updateContact",
        {"account": ALICE, "recipient": BOB, "givenName": "Bob", "nickGivenName": "B", "note": "n"},
    )
    await rpc.call("block", {"account": ALICE, "recipient": [DAVE]})
    carol, bob, dave = [await uuid_of(rpc, n) for n in (CAROL, BOB, DAVE)]
    everyone = await rpc.call("listContacts", {"account": ALICE, "allRecipients": True})
    assert everyone == [
        contact(CAROL, carol, profileSharing=True),
        contact(DAVE, dave, isBlocked=True),
        contact(BOB, bob, name="Bob", givenName="Bob", nickName="B", nickGivenName="B", note="n"),
    ]
    assert await rpc.call("listContacts", {"account": ALICE}) == everyone
    assert await rpc.call("listContacts", {"account": ALICE, "blocked": True}) == [everyone[1]]
    assert await rpc.call("listContacts", {"account": ALICE, "name": "Bob"}) == [everyone[2]]
    assert await rpc.call("listContacts", {"account": ALICE, "recipient": [carol]}) == [everyone[0]]
    unknown = "3f2c1f0e-0000-4000-8000-000000000000"
    assert await rpc.call("listContacts", {"account": ALICE, "recipient": unknown}) == []


async def test_someone_only_heard_from_is_listed_with_all_recipients(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await rpc.call(
        "sandbox.setProfile", {"number": CAROL, "givenName": "Carol", "about": "hi there"}
    )
    await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "message": "hello"})
    assert await rpc.call("listContacts", {"account": ALICE}) == []
    [carol] = await rpc.call("listContacts", {"account": ALICE, "allRecipients": True})
    assert carol == contact(
        CAROL,
        await uuid_of(rpc, CAROL),
        profile={
            "lastUpdateTimestamp": carol["profile"]["lastUpdateTimestamp"],
            "givenName": "Carol",
            "familyName": None,
            "about": "hi there",
            "aboutEmoji": None,
            "hasAvatar": False,
            "mobileCoinAddress": None,
        },
    )


async def test_update_contact_name_keeps_what_is_not_given(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await rpc.call(
        "updateContact",
        {"account": ALICE, "recipient": CAROL, "givenName": "Carol", "familyName": "Smith"},
    )
    await rpc.call("updateContact", {"account": ALICE, "recipient": CAROL, "nickFamilyName": "S"})
    [carol] = await rpc.call("listContacts", {"account": ALICE})
    assert (carol["name"], carol["nickName"]) == ("Carol Smith", "S")
    # `name` is a whole given name with an empty family name.
    await rpc.call("updateContact", {"account": ALICE, "recipient": CAROL, "name": "Caro"})
    [carol] = await rpc.call("listContacts", {"account": ALICE})
    assert (carol["name"], carol["givenName"], carol["familyName"]) == ("Caro", "Caro", "")


async def test_update_contact_refuses_bad_params(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    npe = 'Cannot invoke "String.length()" because value is null (NullPointerException)'
    cases = [
        ({}, err(-32603, npe)),
        (
            {"recipient": "nobody"},
            err(
                -1,
                "Invalid phone number 'nobody': The string supplied did not seem to be a phone "
                "number.",
            ),
        ),
        (
            {"recipient": CAROL, "expiration": "60"},
            cast("java.lang.String", "java.lang.Integer"),
        ),
    ]
    for params, error in cases:
        assert await rpc.error("updateContact", {"account": ALICE, **params}) == error, params
    flag = {"account": ALICE, "allRecipients": "yes"}
    assert await rpc.error("listContacts", flag) == cast("java.lang.String", "java.lang.Boolean")


async def test_send_contacts_without_other_devices_does_nothing(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.call("sendContacts", {"account": ALICE}) == {}
    assert await rpc.call("receive", {"account": ALICE, "timeout": 0}) == []


async def test_a_timer_for_an_unregistered_contact_is_kept_without_error(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("sandbox.setNumber", {"number": DAVE, "registered": False})
    params = {"account": ALICE, "recipient": DAVE, "expiration": 60}
    assert await rpc.call("updateContact", params) == {}
    [dave] = await rpc.call("listContacts", {"account": ALICE})
    assert dave == contact(DAVE, None, messageExpirationTime=60, unregistered=True)
