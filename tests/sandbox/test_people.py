"""Usernames and profiles on the sandbox, as signal-cli 0.13.19 answers for them."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from .client import LineClient
from .conftest import Sandbox, make_account

ALICE = "+14155550100"  # local
BOB = "+14155550101"  # local
CAROL = "+14155550102"  # outside user
DAVE = "+14155550103"  # outside user

LINK = re.compile(r"^https://signal\.me/#eu/[A-Za-z0-9_-]{64}$")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def err(code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "data": data}


def envelope(
    source: str, uuid: str, name: str | None, got: dict[str, Any], **content: Any
) -> dict[str, Any]:
    """The whole envelope; server timestamps come from what arrived (ours to pick)."""
    # Message timestamps are strictly increasing network-wide, so may run a little ahead.
    assert got["serverReceivedTimestamp"] >= got["timestamp"] - 50
    assert got["serverDeliveredTimestamp"] >= got["serverReceivedTimestamp"]
    return {
        "source": source,
        "sourceNumber": source,
        "sourceUuid": uuid,
        "sourceName": name,
        "sourceDevice": 1,
        "timestamp": got["timestamp"],
        "serverReceivedTimestamp": got["serverReceivedTimestamp"],
        "serverDeliveredTimestamp": got["serverDeliveredTimestamp"],
        **content,
    }


def text(timestamp: int, body: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "message": body,
        "expiresInSeconds": 0,
        "isExpirationUpdate": False,
        "viewOnce": False,
        **extra,
    }


async def uuid_of(rpc: LineClient, number: str) -> str:
    status = await rpc.call("getUserStatus", {"account": ALICE, "recipient": number})
    return str(status[0]["uuid"])


async def receive(rpc: LineClient, account: str) -> list[dict[str, Any]]:
    """Everything queued for a local account (sends deliver before they answer)."""
    messages: list[dict[str, Any]] = await rpc.call("receive", {"account": account, "timeout": 0})
    return messages


# usernames


async def test_update_account_gives_a_nickname_a_free_discriminator(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    first = await rpc.call("updateAccount", {"account": ALICE, "username": "alice"})
    assert first == {"username": first["username"], "usernameLink": first["usernameLink"]}
    assert re.fullmatch(r"alice\.(0[1-9]|[1-9][0-9])", first["username"]), first
    assert LINK.match(first["usernameLink"]), first
    # The same nickname again keeps the username and its link, as signal-cli does.
    assert await rpc.call("updateAccount", {"account": ALICE, "username": "alice"}) == first
    # Another nickname gets a new username and a new link.
    second = await rpc.call("updateAccount", {"account": ALICE, "username": "ally_2"})
    assert second["username"].startswith("ally_2.")
    assert second["usernameLink"] != first["usernameLink"]


async def test_an_exact_username_is_taken_once_ignoring_case(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await make_account(rpc, BOB)
    claimed = await rpc.call("updateAccount", {"account": ALICE, "username": "Nick.42"})
    assert claimed == {"username": "Nick.42", "usernameLink": claimed["usernameLink"]}
    for name in ("Nick.42", "nick.42", "NICK.42"):
        assert await rpc.error("updateAccount", {"account": BOB, "username": name}) == err(
            -1, "Invalid username: Username is already registered"
        )
    assert await rpc.call("updateAccount", {"account": ALICE, "deleteUsername": True}) == {}
    again = await rpc.call("updateAccount", {"account": BOB, "username": "nick.42"})
    assert again == {"username": "nick.42", "usernameLink": again["usernameLink"]}
    assert again["usernameLink"] != claimed["usernameLink"]


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("", "Name cannot be empty (CannotBeEmptyException)"),
        ("ni", "Nickname is too short (NicknameTooShortException)"),
        ("n" * 33, "Nickname is too long (NicknameTooLongException)"),
        ("1nick", "Name cannot start with a digit (CannotStartWithDigitException)"),
        ("nick!", "Nickname contains disallowed character (BadNicknameCharacterException)"),
        ("nick.", "Discriminator cannot be empty (DiscriminatorCannotBeEmptyException)"),
        ("nick.0", "Discriminator cannot be zero (DiscriminatorCannotBeZeroException)"),
        (
            "nick.7",
            "Discriminator cannot be a single digit (DiscriminatorCannotBeSingleDigitException)",
        ),
        (
            "nick.042",
            "Discriminator cannot have leading zeros unless it would otherwise be a single "
            "digit (DiscriminatorCannotHaveLeadingZerosException)",
        ),
        (
            "nick.4a",
            "Discriminator must only be made up of digits (BadDiscriminatorCharacterException)",
        ),
        (
            "nick.18446744073709551616",
            "Value is too large to be a username discriminator (DiscriminatorTooLargeException)",
        ),
        (".42", "Name cannot be empty (CannotBeEmptyException)"),
        ("ni ck.42", "Nickname contains disallowed character (BadNicknameCharacterException)"),
    ],
    ids=[
        "empty",
        "short",
        "long",
        "digit-first",
        "bad-char",
        "no-discriminator",
        "zero",
        "single-digit",
        "leading-zero",
        "letter-discriminator",
        "huge-discriminator",
        "no-nickname",
        "space",
    ],
)
async def test_update_account_refuses_usernames_libsignal_refuses(
    rpc: LineClient, username: str, message: str
) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.error("updateAccount", {"account": ALICE, "username": username}) == err(
        -1, f"Invalid username: {message}"
    )


async def test_update_account_checks_boolean_params(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    cast = (
        "class java.lang.String cannot be cast to class java.lang.Boolean (java.lang.String "
        "and java.lang.Boolean are in module java.base of loader 'bootstrap') "
        "(ClassCastException)"
    )
    for key in ("deleteUsername", "numberSharing", "discoverable-by-number"):
        assert await rpc.error("updateAccount", {"account": ALICE, key: "yes"}) == err(-32603, cast)
    assert await rpc.call("updateAccount", {"account": ALICE, "deviceName": "bot"}) == {}
    assert [d["name"] for d in await rpc.call("listDevices", {"account": ALICE})] == ["bot"]


async def test_get_user_status_finds_usernames(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("sandbox.setNumber", {"number": CAROL, "username": "carol.07"})
    carol_uuid = await uuid_of(rpc, CAROL)
    link = (await rpc.call("sandbox.setNumber", {"number": CAROL}))["usernameLink"]
    status = await rpc.call(
        "getUserStatus", {"account": ALICE, "username": ["CAROL.07", "nobody.12", link]}
    )
    assert status == [
        {"recipient": "CAROL.07", "username": "CAROL.07", "uuid": carol_uuid, "isRegistered": True},
        {"recipient": "nobody.12", "username": "nobody.12", "uuid": None, "isRegistered": False},
        {"recipient": link, "username": link, "uuid": carol_uuid, "isRegistered": True},
    ]
    # A malformed username escapes signal-cli's lookup as an unexpected exception.
    assert await rpc.error("getUserStatus", {"account": ALICE, "username": "carol"}) == err(
        -32603,
        "org.signal.libsignal.usernames.MissingSeparatorException: Username must contain a '.' "
        "(RuntimeException)",
    )


async def test_set_number_gives_outside_users_usernames(rpc: LineClient) -> None:
    carol = await rpc.call("sandbox.setNumber", {"number": CAROL, "username": "carol.07"})
    assert carol == {
        "number": CAROL,
        "registered": True,
        "requiresCaptcha": False,
        "registrationLockPin": None,
        "username": "carol.07",
        "usernameLink": carol["usernameLink"],
    }
    assert LINK.match(carol["usernameLink"])
    assert await rpc.error("sandbox.setNumber", {"number": DAVE, "username": "CAROL.07"}) == err(
        -1, "Invalid username: Username is already registered"
    )
    dave = await rpc.call("sandbox.setNumber", {"number": DAVE, "username": "dave"})
    assert re.fullmatch(r"dave\.\d\d", dave["username"])
    removed = await rpc.call("sandbox.setNumber", {"number": CAROL, "username": None})
    assert (removed["username"], removed["usernameLink"]) == (None, None)
    assert await rpc.error("sandbox.setNumber", {"number": CAROL, "username": 7}) == err(
        -1, "username must be a string or null"
    )


async def test_send_to_a_username_reaches_its_holder(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("sandbox.setNumber", {"number": CAROL, "username": "carol.07"})
    alice_uuid, carol_uuid = await uuid_of(rpc, ALICE), await uuid_of(rpc, CAROL)
    by_param = await rpc.call(
        "send", {"account": ALICE, "username": "carol.07", "message": "by username"}
    )
    by_recipient = await rpc.call(
        "send", {"account": ALICE, "recipient": "u:Carol.07", "message": "by u:"}
    )
    for sent, typed in ((by_param, "carol.07"), (by_recipient, "Carol.07")):
        # A username lookup yields the ACI only; the number stays unknown to the sender.
        assert sent == {
            "timestamp": sent["timestamp"],
            "results": [
                {
                    "recipientAddress": {"uuid": carol_uuid, "number": None, "username": typed},
                    "type": "SUCCESS",
                }
            ],
        }
    received = await rpc.call("sandbox.listReceived", {"number": CAROL})
    assert received == [
        {
            "envelope": envelope(
                ALICE,
                alice_uuid,
                None,
                received[i]["envelope"],
                dataMessage=text(sent["timestamp"], body),
            ),
            "account": CAROL,
        }
        for i, (sent, body) in enumerate(((by_param, "by username"), (by_recipient, "by u:")))
    ]
    # Having looked Carol up, Alice's results name her username next to her number.
    by_number = await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": "n"})
    assert by_number["results"] == [
        {
            "recipientAddress": {"uuid": carol_uuid, "number": CAROL, "username": "Carol.07"},
            "type": "SUCCESS",
        }
    ]


async def test_send_to_an_unknown_username_is_an_unregistered_failure(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    error = await rpc.error(
        "send", {"account": ALICE, "username": ["nobody.12", "bad name"], "message": "hi"}
    )
    ts = error["data"]["response"]["timestamp"]
    assert error == err(
        -1,
        "Failed to send message",
        {
            "response": {
                "timestamp": ts,
                "results": [
                    {
                        "recipientAddress": {"uuid": None, "number": None, "username": name},
                        "type": "UNREGISTERED_FAILURE",
                    }
                    for name in ("nobody.12", "bad name")
                ],
            }
        },
    )
    assert await rpc.error(
        "updateGroup", {"account": ALICE, "name": "g", "member": "u:nobody.12"}
    ) == err(-1, "The user nobody.12 is not registered.")


async def test_reactions_typing_and_deletes_reach_a_username(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("sandbox.setNumber", {"number": CAROL, "username": "carol.07"})
    carol_uuid = await uuid_of(rpc, CAROL)
    sent = await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "message": "hey"})
    target = sent["timestamp"]
    reacted = await rpc.call(
        "sendReaction",
        {"account": ALICE, "recipient": "u:carol.07", "emoji": "👍", "targetTimestamp": target},
    )
    await rpc.call("sendTyping", {"account": ALICE, "recipient": "u:carol.07"})
    await rpc.call(
        "remoteDelete", {"account": ALICE, "username": "carol.07", "targetTimestamp": target}
    )
    got = [m["envelope"] for m in await rpc.call("sandbox.listReceived", {"number": CAROL})]
    got = [e for e in got if "receiptMessage" not in e]
    assert [sorted(set(e) & {"dataMessage", "typingMessage"}) for e in got] == [
        ["dataMessage"],
        ["typingMessage"],
        ["dataMessage"],
    ]
    assert got[0]["dataMessage"] == text(
        reacted["timestamp"],
        None,
        reaction={
            "emoji": "👍",
            "targetAuthor": CAROL,
            "targetAuthorNumber": CAROL,
            "targetAuthorUuid": carol_uuid,
            "targetSentTimestamp": target,
            "isRemove": False,
        },
    )
    assert got[1]["typingMessage"] == {"action": "STARTED", "timestamp": got[1]["timestamp"]}
    assert got[2]["dataMessage"] == text(
        got[2]["timestamp"], None, remoteDelete={"timestamp": target}
    )


# profiles


async def test_an_outside_users_profile_name_is_the_source_name(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    profile = await rpc.call(
        "sandbox.setProfile",
        {
            "number": CAROL,
            "givenName": "Carol",
            "familyName": "Smith",
            "about": "hi there",
            "avatar": base64.b64encode(PNG).decode(),
        },
    )
    assert profile == {
        "number": CAROL,
        "givenName": "Carol",
        "familyName": "Smith",
        "about": "hi there",
        "aboutEmoji": None,
        "hasAvatar": True,
        "lastUpdateTimestamp": profile["lastUpdateTimestamp"],
    }
    sent = await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "message": "hello"})
    [message] = await receive(rpc, ALICE)
    assert message == {
        "envelope": envelope(
            CAROL,
            await uuid_of(rpc, CAROL),
            "Carol Smith",
            message["envelope"],
            dataMessage=text(sent["timestamp"], "hello"),
        ),
        "account": ALICE,
    }


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"givenName": "Carol"}, "Carol"),
        ({"familyName": "Smith"}, "Smith"),
        ({"about": "no name"}, ""),
    ],
    ids=["given-only", "family-only", "no-name"],
)
async def test_source_name_is_built_like_signal_cli(
    rpc: LineClient, fields: dict[str, str], name: str
) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("sandbox.setProfile", {"number": CAROL, **fields})
    await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "message": "x"})
    [message] = await receive(rpc, ALICE)
    assert message["envelope"]["sourceName"] == name


async def test_an_accounts_profile_name_shows_to_outside_users(
    sandbox: Sandbox, rpc: LineClient, tmp_path: Path
) -> None:
    await make_account(rpc, ALICE)
    avatar = tmp_path / "me.png"
    avatar.write_bytes(PNG)
    assert (
        await rpc.call(
            "updateProfile",
            {"account": ALICE, "given-name": "Alice", "familyName": "Bot", "avatar": str(avatar)},
        )
        == {}
    )
    assert sandbox.daemon is not None
    network = sandbox.daemon.network
    assert network.profile_avatar(ALICE) == PNG
    sent = await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": "hi"})
    [message] = await rpc.call("sandbox.listReceived", {"number": CAROL})
    assert message == {
        "envelope": envelope(
            ALICE,
            await uuid_of(rpc, ALICE),
            "Alice Bot",
            message["envelope"],
            dataMessage=text(sent["timestamp"], "hi"),
        ),
        "account": CAROL,
    }
    # Fields not given keep their value; removeAvatar drops the picture.
    assert await rpc.call("updateProfile", {"account": ALICE, "removeAvatar": True}) == {}
    assert network.profile_avatar(ALICE) is None
    assert network.display_name(ALICE) == "Alice Bot"
    assert network.profile_avatar(BOB) is None


async def test_update_profile_errors(rpc: LineClient, tmp_path: Path) -> None:
    await make_account(rpc, ALICE)
    missing = tmp_path / "missing.png"
    assert await rpc.error("updateProfile", {"account": ALICE, "avatar": str(missing)}) == err(
        -3, f"Update profile error: {missing} (No such file or directory)"
    )
    assert await rpc.error(
        "updateProfile", {"account": ALICE, "mobileCoinAddress": "not base64!"}
    ) == err(-32603, "Illegal base64 character 20 (IllegalArgumentException)")
    assert await rpc.error("updateProfile", {"account": ALICE, "removeAvatar": 1}) == err(
        -32603,
        "class java.lang.Integer cannot be cast to class java.lang.Boolean (java.lang.Integer "
        "and java.lang.Boolean are in module java.base of loader 'bootstrap') "
        "(ClassCastException)",
    )


async def test_set_profile_rejects_bad_fields(rpc: LineClient) -> None:
    assert await rpc.error("sandbox.setProfile", {"number": CAROL, "givenName": 5}) == err(
        -1, "givenName must be a string or null"
    )
    assert await rpc.error("sandbox.setProfile", {"number": CAROL, "avatar": "%%%"}) == err(
        -1, "avatar must be base64 or null"
    )
    assert await rpc.error("sandbox.setProfile", {"givenName": "x"}) == err(
        -1, "Missing number parameter"
    )


async def test_send_typing_has_no_username_param(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("sandbox.setNumber", {"number": CAROL, "username": "carol.07"})
    assert await rpc.error("sendTyping", {"account": ALICE, "username": "carol.07"}) == err(
        -1, "No recipients given"
    )


async def test_send_to_a_username_link_names_the_username_behind_it(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    carol = await rpc.call("sandbox.setNumber", {"number": CAROL, "username": "carol.07"})
    carol_uuid = await uuid_of(rpc, CAROL)
    sent = await rpc.call(
        "send", {"account": ALICE, "username": carol["usernameLink"], "message": "via link"}
    )
    assert sent["results"] == [
        {
            "recipientAddress": {"uuid": carol_uuid, "number": None, "username": "carol.07"},
            "type": "SUCCESS",
        }
    ]
    [message] = await rpc.call("sandbox.listReceived", {"number": CAROL})
    assert message["envelope"]["dataMessage"] == text(sent["timestamp"], "via link")
