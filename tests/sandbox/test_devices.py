"""An account's other devices: a linked account's phone and the sync messages between them."""

from __future__ import annotations

import asyncio
from typing import Any

from .client import LineClient
from .conftest import make_account

ALICE = "+14155550100"  # linked here as device 2; her phone is outside
BOB = "+14155550101"  # registered here (a primary device)
CAROL = "+14155550102"  # outside user


async def link(rpc: LineClient, number: str) -> None:
    uri = (await rpc.call("startLink"))["deviceLinkUri"]
    finishing = asyncio.create_task(
        rpc.call("finishLink", {"deviceLinkUri": uri, "deviceName": "bridge"})
    )
    assert await rpc.call("sandbox.scanLink", {"deviceLinkUri": uri, "number": number}) == {}
    assert await finishing == {"number": number}


async def uuid_of(rpc: LineClient, number: str) -> str:
    status = await rpc.call("getUserStatus", {"account": ALICE, "recipient": number})
    return str(status[0]["uuid"])


def envelope(source: str, uuid: str, device: int, got: dict[str, Any], **content: Any) -> Any:
    assert got["serverReceivedTimestamp"] >= got["timestamp"] - 50
    assert got["serverDeliveredTimestamp"] >= got["serverReceivedTimestamp"]
    return {
        "source": source,
        "sourceNumber": source,
        "sourceUuid": uuid,
        "sourceName": None,
        "sourceDevice": device,
        "timestamp": got["timestamp"],
        "serverReceivedTimestamp": got["serverReceivedTimestamp"],
        "serverDeliveredTimestamp": got["serverDeliveredTimestamp"],
        **content,
    }


def text(timestamp: int, body: str, **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "message": body,
        "expiresInSeconds": 0,
        "isExpirationUpdate": False,
        "viewOnce": False,
        **extra,
    }


def sent(destination: str | None, uuid: str | None, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "syncMessage": {
            "sentMessage": {
                "destination": destination,
                "destinationNumber": destination,
                "destinationUuid": uuid,
                **data,
            }
        }
    }


async def phone(rpc: LineClient, number: str) -> list[dict[str, Any]]:
    """What the number's phone received, receipts left out."""
    got = await rpc.call("sandbox.listReceived", {"number": number})
    return [m for m in got if "receiptMessage" not in m["envelope"]]


async def local(rpc: LineClient, number: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = await rpc.call("receive", {"account": number, "timeout": 0})
    return [m for m in got if "receiptMessage" not in m["envelope"]]


async def test_a_linked_accounts_send_reaches_its_phone_as_a_transcript(rpc: LineClient) -> None:
    await link(rpc, ALICE)
    alice, carol = await uuid_of(rpc, ALICE), await uuid_of(rpc, CAROL)
    result = await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": "hi"})
    ts = result["timestamp"]
    [to_carol] = await phone(rpc, CAROL)
    assert to_carol == {
        "envelope": envelope(ALICE, alice, 2, to_carol["envelope"], dataMessage=text(ts, "hi")),
        "account": CAROL,
    }
    [transcript] = await phone(rpc, ALICE)
    assert transcript == {
        "envelope": envelope(
            ALICE, alice, 2, transcript["envelope"], **sent(CAROL, carol, text(ts, "hi"))
        ),
        "account": ALICE,
    }
    assert await local(rpc, ALICE) == []


async def test_note_to_self_syncs_unless_notify_self_sends_the_message(rpc: LineClient) -> None:
    await link(rpc, ALICE)
    alice = await uuid_of(rpc, ALICE)
    quiet = await rpc.call("send", {"account": ALICE, "noteToSelf": True, "message": "memo"})
    loud = await rpc.call(
        "send", {"account": ALICE, "recipient": ALICE, "notifySelf": True, "message": "ping"}
    )
    for result in (quiet, loud):
        assert result == {
            "timestamp": result["timestamp"],
            "results": [
                {
                    "recipientAddress": {"uuid": alice, "number": ALICE, "username": None},
                    "type": "SUCCESS",
                }
            ],
        }
    memo, ping = await phone(rpc, ALICE)
    assert memo["envelope"] == envelope(
        ALICE, alice, 2, memo["envelope"], **sent(ALICE, alice, text(quiet["timestamp"], "memo"))
    )
    assert ping["envelope"] == envelope(
        ALICE, alice, 2, ping["envelope"], dataMessage=text(loud["timestamp"], "ping")
    )


async def test_the_phone_of_a_linked_account_syncs_what_it_sends(rpc: LineClient) -> None:
    await link(rpc, ALICE)
    alice, carol = await uuid_of(rpc, ALICE), await uuid_of(rpc, CAROL)
    result = await rpc.call(
        "sandbox.send", {"from": ALICE, "recipient": CAROL, "message": "from my phone"}
    )
    ts = result["timestamp"]
    [to_carol] = await phone(rpc, CAROL)
    assert to_carol["envelope"] == envelope(
        ALICE, alice, 1, to_carol["envelope"], dataMessage=text(ts, "from my phone")
    )
    [transcript] = await local(rpc, ALICE)
    assert transcript == {
        "envelope": envelope(
            ALICE,
            alice,
            1,
            transcript["envelope"],
            **sent(CAROL, carol, text(ts, "from my phone")),
        ),
        "account": ALICE,
    }
    assert await phone(rpc, ALICE) == []


async def test_group_sends_sync_without_destination(rpc: LineClient) -> None:
    await link(rpc, ALICE)
    await make_account(rpc, BOB)
    alice = await uuid_of(rpc, ALICE)
    group = await rpc.call("updateGroup", {"account": ALICE, "name": "Team", "member": [BOB]})
    gid = group["groupId"]
    quiet = await rpc.call("send", {"account": ALICE, "groupId": gid, "message": "to all"})
    loud = await rpc.call(
        "send", {"account": ALICE, "groupId": gid, "message": "me too", "notify-self": True}
    )
    info = {"groupId": gid, "groupName": "Team", "revision": 0, "type": "DELIVER"}
    transcript, copy = await phone(rpc, ALICE)
    assert transcript["envelope"] == envelope(
        ALICE,
        alice,
        2,
        transcript["envelope"],
        **sent(None, None, text(quiet["timestamp"], "to all", groupInfo=info)),
    )
    assert copy["envelope"] == envelope(
        ALICE,
        alice,
        2,
        copy["envelope"],
        dataMessage=text(loud["timestamp"], "me too", groupInfo=info),
    )


async def test_messages_to_a_linked_account_reach_its_phone_too(rpc: LineClient) -> None:
    await link(rpc, ALICE)
    carol = await uuid_of(rpc, CAROL)
    result = await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "message": "yo"})
    expected = text(result["timestamp"], "yo")
    [on_phone] = await phone(rpc, ALICE)
    [here] = await local(rpc, ALICE)
    for message in (on_phone, here):
        assert message == {
            "envelope": envelope(CAROL, carol, 1, message["envelope"], dataMessage=expected),
            "account": ALICE,
        }


async def test_a_primary_account_has_no_other_device_to_sync(rpc: LineClient) -> None:
    await make_account(rpc, BOB)
    await rpc.call("send", {"account": BOB, "recipient": CAROL, "message": "hi"})
    await rpc.call("send", {"account": BOB, "noteToSelf": True, "message": "memo"})
    assert await local(rpc, BOB) == []
    assert await phone(rpc, BOB) == []


async def test_typing_and_receipts_are_not_synced(rpc: LineClient) -> None:
    await link(rpc, ALICE)
    await rpc.call("sendTyping", {"account": ALICE, "recipient": CAROL})
    await rpc.call(
        "sendReceipt", {"account": ALICE, "recipient": CAROL, "targetTimestamp": 1752436800000}
    )
    assert await phone(rpc, ALICE) == []
    kinds = [
        sorted(m["envelope"]) for m in await rpc.call("sandbox.listReceived", {"number": CAROL})
    ]
    assert [k for k in kinds if "typingMessage" in k or "receiptMessage" in k] == kinds
    assert len(kinds) == 2


async def test_only_send_reads_notify_self(rpc: LineClient) -> None:
    # signal-cli 0.13.19 has --notify-self on send alone; a reaction to self is a transcript.
    await link(rpc, ALICE)
    alice = await uuid_of(rpc, ALICE)
    reacted = await rpc.call(
        "sendReaction",
        {
            "account": ALICE,
            "noteToSelf": True,
            "notifySelf": True,
            "emoji": "👍",
            "targetAuthor": ALICE,
            "targetTimestamp": 1752436800000,
        },
    )
    [transcript] = await phone(rpc, ALICE)
    reaction = {
        "emoji": "👍",
        "targetAuthor": ALICE,
        "targetAuthorNumber": ALICE,
        "targetAuthorUuid": alice,
        "targetSentTimestamp": 1752436800000,
        "isRemove": False,
    }
    data = text(reacted["timestamp"], "", reaction=reaction) | {"message": None}
    assert transcript["envelope"] == envelope(
        ALICE, alice, 2, transcript["envelope"], **sent(ALICE, alice, data)
    )


async def test_an_edit_reaches_the_phone_as_an_edit_transcript(rpc: LineClient) -> None:
    await link(rpc, ALICE)
    alice, carol = await uuid_of(rpc, ALICE), await uuid_of(rpc, CAROL)
    first = await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": "helo"})
    edit = await rpc.call(
        "send",
        {
            "account": ALICE,
            "recipient": CAROL,
            "message": "hello",
            "editTimestamp": first["timestamp"],
        },
    )
    _, transcript = await phone(rpc, ALICE)
    edited = {
        "targetSentTimestamp": first["timestamp"],
        "dataMessage": text(edit["timestamp"], "hello"),
    }
    # signal-cli leaves the flattened message fields out when the transcript is an edit.
    assert transcript["envelope"] == envelope(
        ALICE,
        alice,
        2,
        transcript["envelope"],
        syncMessage={
            "sentMessage": {
                "destination": CAROL,
                "destinationNumber": CAROL,
                "destinationUuid": carol,
                "editMessage": edited,
            }
        },
    )
