from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .client import LineClient
from .conftest import Sandbox, make_account

ALICE = "+14155550100"  # local
BOB = "+14155550101"  # local
CAROL = "+14155550102"  # outside user
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def envelope(
    source: str, uuid: str, timestamp: int, message: dict[str, Any], got: dict[str, Any]
) -> dict[str, Any]:
    """The expected envelope; server timestamps come from what arrived (ours to pick)."""
    assert got["serverReceivedTimestamp"] >= timestamp - 5
    assert got["serverDeliveredTimestamp"] >= got["serverReceivedTimestamp"]
    return {
        "source": source,
        "sourceNumber": source,
        "sourceUuid": uuid,
        "sourceName": None,
        "sourceDevice": 1,
        "timestamp": timestamp,
        "serverReceivedTimestamp": got["serverReceivedTimestamp"],
        "serverDeliveredTimestamp": got["serverDeliveredTimestamp"],
        **message,
    }


def text(timestamp: int, body: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "dataMessage": {
            "timestamp": timestamp,
            "message": body,
            "expiresInSeconds": 0,
            "isExpirationUpdate": False,
            "viewOnce": False,
            **extra,
        }
    }


async def uuid_of(rpc: LineClient, number: str) -> str:
    status = await rpc.call("getUserStatus", {"account": ALICE, "recipient": number})
    return str(status[0]["uuid"])


async def test_two_local_accounts_message_each_other(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await make_account(rpc, BOB)
    alice_uuid, bob_uuid = await uuid_of(rpc, ALICE), await uuid_of(rpc, BOB)
    sub = await rpc.call("subscribeReceive")
    assert sub == 0
    sent = await rpc.call("send", {"account": ALICE, "recipient": [BOB], "message": "hi Bob"})
    ts = sent["timestamp"]
    assert sent == {
        "timestamp": ts,
        "results": [
            {
                "recipientAddress": {"uuid": bob_uuid, "number": BOB, "username": None},
                "type": "SUCCESS",
            }
        ],
    }
    note = await rpc.notification()
    got = note["params"]["result"]["envelope"]
    assert note == {
        "jsonrpc": "2.0",
        "method": "receive",
        "params": {
            "subscription": 0,
            "result": {
                "envelope": envelope(ALICE, alice_uuid, ts, text(ts, "hi Bob"), got),
                "account": BOB,
            },
        },
    }
    # Bob's signal-cli acknowledges with a delivery receipt to Alice.
    receipt = (await rpc.notification())["params"]["result"]
    assert receipt["account"] == ALICE
    assert receipt["envelope"]["source"] == BOB
    assert receipt["envelope"]["receiptMessage"] == {
        "when": receipt["envelope"]["timestamp"],
        "isDelivery": True,
        "isRead": False,
        "isViewed": False,
        "timestamps": [ts],
    }
    assert receipt["envelope"]["timestamp"] > ts


async def test_manual_mode_keeps_messages_until_subscribed(
    sandbox: Sandbox, rpc: LineClient
) -> None:
    await make_account(rpc, ALICE)
    sent = await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "message": "early"})
    sent2 = await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "message": "later"})
    assert sent2["timestamp"] > sent["timestamp"]
    # Survives a restart of the daemon, too.
    await sandbox.restart()
    rpc = await sandbox.connect()
    assert await rpc.call("subscribeReceive", {"account": ALICE}) == 0
    first = (await rpc.notification())["params"]["result"]
    second = (await rpc.notification())["params"]["result"]
    carol_uuid = await uuid_of(rpc, CAROL)
    assert first == {
        "envelope": envelope(
            CAROL,
            carol_uuid,
            sent["timestamp"],
            text(sent["timestamp"], "early"),
            first["envelope"],
        ),
        "account": ALICE,
    }
    assert second["envelope"]["dataMessage"]["message"] == "later"
    # Carol's phone got Alice's delivery receipts.
    received = await rpc.call("sandbox.listReceived", {"number": CAROL})
    assert [r["envelope"]["receiptMessage"]["timestamps"] for r in received] == [
        [sent["timestamp"]],
        [sent2["timestamp"]],
    ]
    assert {r["account"] for r in received} == {CAROL}


async def test_account_to_outside_user_is_stored_in_its_inbox(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    sent = await rpc.call(
        "send", {"account": ALICE, "recipient": CAROL, "message": "hello Carol", "viewOnce": True}
    )
    ts = sent["timestamp"]
    received = await rpc.call("sandbox.listReceived", {"number": CAROL})
    got = received[0]["envelope"]
    expected = text(ts, "hello Carol")
    expected["dataMessage"]["viewOnce"] = True
    assert received == [
        {
            "envelope": envelope(ALICE, await uuid_of(rpc, ALICE), ts, expected, got),
            "account": CAROL,
        }
    ]


async def test_count_received_counts_what_an_outside_phone_got(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.call("sandbox.countReceived", {"number": CAROL}) == {
        "number": CAROL,
        "count": 0,
    }
    for n in range(3):
        await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": f"m{n}"})
    await rpc.call("send", {"account": ALICE, "recipient": BOB, "message": "not Carol's"})
    assert await rpc.call("sandbox.countReceived", {"number": CAROL}) == {
        "number": CAROL,
        "count": 3,
    }
    assert len(await rpc.call("sandbox.listReceived", {"number": CAROL})) == 3
    assert await rpc.error("sandbox.countReceived", {}) == {
        "code": -1,
        "message": "Missing number parameter",
        "data": None,
    }


async def test_send_reports_unregistered_recipients(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("sandbox.setNumber", {"number": "+14155550199", "registered": False})
    error = await rpc.error(
        "send", {"account": ALICE, "recipient": "+14155550199", "message": "hi"}
    )
    ts = error["data"]["response"]["timestamp"]
    unregistered = {
        "recipientAddress": {"uuid": None, "number": "+14155550199", "username": None},
        "type": "UNREGISTERED_FAILURE",
    }
    assert error == {
        "code": -1,
        "message": "Failed to send message",
        "data": {"response": {"timestamp": ts, "results": [unregistered]}},
    }
    partial = await rpc.call(
        "send", {"account": ALICE, "recipients": [CAROL, "+14155550199"], "message": "hi"}
    )
    assert [r["type"] for r in partial["results"]] == ["SUCCESS", "UNREGISTERED_FAILURE"]


async def test_send_input_errors(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"recipient": CAROL},
            "Sending empty message is not allowed, either a message, attachment or sticker "
            "must be given.",
        ),
        ({"message": "x"}, "No recipients given"),
        (
            {"groupId": "kW3bF0qXo8d9Yl2mTzQ4vR7uS1nE6aJcHgPiK5wLxDs=", "message": "x"},
            "Group not found: kW3bF0qXo8d9Yl2mTzQ4vR7uS1nE6aJcHgPiK5wLxDs=",
        ),
        (
            {"groupId": "abc!", "message": "x"},
            'Invalid group id: Failed to decode groupId (must be base64) "abc!": '
            "Illegal base64 character 21",
        ),
        (
            {"recipient": CAROL, "message": "x", "mention": "1:2"},
            "Invalid mention syntax (1:2) expected 'start:length:recipientNumber'",
        ),
        ({"recipient": CAROL, "message": "x", "textStyle": "0:1:bold"}, "Invalid style: bold"),
        (
            {"recipient": CAROL, "message": "x", "quoteTimestamp": 1752436800000},
            "Quote author parameter is missing",
        ),
    ]
    for params, message in cases:
        assert await rpc.error("send", {"account": ALICE, **params}) == {
            "code": -1,
            "message": message,
            "data": None,
        }
    bad_bool = await rpc.error(
        "send", {"account": ALICE, "recipient": CAROL, "message": "x", "viewOnce": "true"}
    )
    assert bad_bool["code"] == -32603 and "ClassCastException" in bad_bool["message"]


async def test_send_rich_message_fields(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    carol_uuid = await uuid_of(rpc, CAROL)
    # Alice uploads the pack, so her device knows it (a sticker needs a known pack).
    image = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    pack = await rpc.call(
        "sandbox.createStickerPack",
        {"from": ALICE, "title": "T", "stickers": [{"data": image}] * 3},
    )
    params = {
        "account": ALICE,
        "recipient": CAROL,
        "message": "Hi X, see this!",
        "mention": ["3:1:" + CAROL],
        "text-style": ["11:4:BOLD"],
        "quoteTimestamp": 1752436800000,
        "quoteAuthor": CAROL,
        "quoteMessage": "Can someone check?",
        "sticker": pack["packId"] + ":2",
        "previewUrl": "https://example.com",
        "previewTitle": "Example",
    }
    ts = (await rpc.call("send", params))["timestamp"]
    message = (await rpc.call("sandbox.listReceived", {"number": CAROL}))[0]["envelope"][
        "dataMessage"
    ]
    assert message == {
        "timestamp": ts,
        "message": "Hi X, see this!",
        "expiresInSeconds": 0,
        "isExpirationUpdate": False,
        "viewOnce": False,
        "quote": {
            "id": 1752436800000,
            "author": CAROL,
            "authorNumber": CAROL,
            "authorUuid": carol_uuid,
            "text": "Can someone check?",
            "attachments": [],
        },
        "mentions": [{"name": CAROL, "number": CAROL, "uuid": carol_uuid, "start": 3, "length": 1}],
        "previews": [
            {"url": "https://example.com", "title": "Example", "description": None, "image": None}
        ],
        "sticker": {"packId": pack["packId"], "stickerId": 2},
        "textStyles": [{"style": "BOLD", "start": 11, "length": 4}],
    }


async def test_attachments_by_path_and_data_uri(tmp_path: Path, rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4 test")
    uri = "data:image/png;filename=dot%20one.png;base64," + base64.b64encode(PNG).decode()
    ts = (
        await rpc.call(
            "send", {"account": ALICE, "recipient": CAROL, "attachment": [str(report), uri]}
        )
    )["timestamp"]
    message = (await rpc.call("sandbox.listReceived", {"number": CAROL}))[0]["envelope"][
        "dataMessage"
    ]
    pdf, png = message["attachments"]
    assert message["message"] is None
    assert pdf == {
        "contentType": "application/pdf",
        "filename": "report.pdf",
        "id": pdf["id"],
        "size": 13,
        "width": None,
        "height": None,
        "caption": None,
        "uploadTimestamp": ts,
    }
    assert pdf["id"].endswith(".pdf") and len(pdf["id"]) == 24
    assert (
        png["contentType"] == "image/png"
        and png["filename"] == "dot one.png"
        and png["size"] == len(PNG)
    )
    # signal-cli keeps no copy of what it sent: only received attachments are downloaded.
    assert await rpc.error("getAttachment", {"account": ALICE, "id": png["id"]}) == {
        "code": -1,
        "message": f"Could not find attachment with ID: {png['id']}",
        "data": None,
    }
    await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "attachment": [uri]})
    messages = await rpc.call("receive", {"account": ALICE, "timeout": 0.1})
    [received] = [m for m in messages if "dataMessage" in m["envelope"]]  # not the receipt
    [back] = received["envelope"]["dataMessage"]["attachments"]
    fetched = await rpc.call("getAttachment", {"account": ALICE, "id": back["id"]})
    assert fetched == {"data": base64.b64encode(PNG).decode()}
    assert await rpc.error("getAttachment", {"account": ALICE, "id": "missing.png"}) == {
        "code": -1,
        "message": "Could not find attachment with ID: missing.png",
        "data": None,
    }
    # 0.13.19 hands the missing id to java.io.File, whose NullPointerException has no message.
    assert await rpc.error("getAttachment", {"account": ALICE}) == {
        "code": -32603,
        "message": "null (NullPointerException)",
        "data": None,
    }


async def test_receive_polling_returns_queued_messages(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    sent = await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "message": "poll me"})
    messages = await rpc.call("receive", {"account": ALICE, "timeout": 0.1})
    assert [(m["account"], m["envelope"]["timestamp"]) for m in messages] == [
        (ALICE, sent["timestamp"])
    ]
    assert await rpc.call("receive", {"account": ALICE, "timeout": 0.05}) == []
    await rpc.call("subscribeReceive", {"account": ALICE})
    assert await rpc.error("receive", {"account": ALICE, "timeout": 0.05}) == {
        "code": -1,
        "message": "Receive command cannot be used if messages are already being received.",
        "data": None,
    }


async def test_on_start_mode_auto_subscribes_every_connection(
    sandbox_factory: Callable[..., Awaitable[Sandbox]],
) -> None:
    sandbox = await sandbox_factory("on-start")
    rpc = await sandbox.connect()
    await make_account(rpc, ALICE)
    assert await rpc.call("subscribeReceive") == 1  # the auto subscription took 0
    sent = await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "message": "hey"})
    auto, explicit = await rpc.notification(), await rpc.notification()
    if "subscription" in auto["params"]:
        auto, explicit = explicit, auto
    assert auto["params"]["envelope"]["timestamp"] == sent["timestamp"]
    assert explicit["params"] == {"subscription": 1, "result": auto["params"]}


async def test_reaction_typing_receipt_and_remote_delete(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    base = {"account": ALICE, "recipient": CAROL}
    react = await rpc.call(
        "sendReaction", {**base, "emoji": "👍", "targetTimestamp": 1752436800000}
    )
    typing = await rpc.call("sendTyping", base)
    receipt = await rpc.call("sendReceipt", {**base, "targetTimestamp": [1752436800000]})
    delete = await rpc.call("remoteDelete", {**base, "targetTimestamp": 1752436800000})
    inbox = [r["envelope"] for r in await rpc.call("sandbox.listReceived", {"number": CAROL})]
    carol_uuid = await uuid_of(rpc, CAROL)
    assert inbox[0]["dataMessage"]["reaction"] == {
        "emoji": "👍",
        "targetAuthor": CAROL,
        "targetAuthorNumber": CAROL,
        "targetAuthorUuid": carol_uuid,
        "targetSentTimestamp": 1752436800000,
        "isRemove": False,
    }
    assert inbox[1]["typingMessage"] == {"action": "STARTED", "timestamp": typing["timestamp"]}
    assert inbox[2]["receiptMessage"] == {
        "when": receipt["timestamp"],
        "isDelivery": False,
        "isRead": True,
        "isViewed": False,
        "timestamps": [1752436800000],
    }
    assert inbox[3]["dataMessage"]["remoteDelete"] == {"timestamp": 1752436800000}
    assert [e["timestamp"] for e in inbox] == [
        react["timestamp"],
        typing["timestamp"],
        receipt["timestamp"],
        delete["timestamp"],
    ]


async def test_receipt_for_several_messages_and_viewed(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    stamps = [1752436800000, 1752436800001]
    params = {"account": ALICE, "recipient": CAROL, "targetTimestamps": stamps, "type": "viewed"}
    receipt = await rpc.call("sendReceipt", params)
    [received] = await rpc.call("sandbox.listReceived", {"number": CAROL})
    assert received["envelope"]["receiptMessage"] == {
        "when": receipt["timestamp"],
        "isDelivery": False,
        "isRead": False,
        "isViewed": True,
        "timestamps": stamps,
    }
    assert await rpc.error("sendReceipt", {**params, "type": ""}) == {
        "code": -1,
        "message": "Unknown receipt type: ",
        "data": None,
    }


async def test_typing_takes_no_usernames_and_words_group_errors_its_own_way(
    rpc: LineClient,
) -> None:
    await make_account(rpc, ALICE)
    # sendTyping has no `username` param: signal-cli ignores it, as any unknown key.
    assert await rpc.error("sendTyping", {"account": ALICE, "username": "carol.01"}) == {
        "code": -1,
        "message": "No recipients given",
        "data": None,
    }
    gid = base64.b64encode(bytes(32)).decode()
    assert await rpc.error("sendTyping", {"account": ALICE, "groupId": gid}) == {
        "code": -1,
        "message": f"Failed to send to group: Group not found: {gid}",
        "data": None,
    }


async def test_typing_in_a_group_reaches_members_with_the_group_id(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    gid = (await rpc.call("updateGroup", {"account": ALICE, "name": "G", "member": [CAROL]}))[
        "groupId"
    ]
    typing = await rpc.call("sendTyping", {"account": ALICE, "groupId": gid, "stop": True})
    received = await rpc.call("sandbox.listReceived", {"number": CAROL})
    assert [
        m["envelope"]["typingMessage"] for m in received if "typingMessage" in m["envelope"]
    ] == [{"action": "STOPPED", "timestamp": typing["timestamp"], "groupId": gid}]


async def test_blocked_contact_messages_are_dropped(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.call("block", {"account": ALICE, "recipient": CAROL}) == {}
    await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "message": "ignored"})
    assert await rpc.call("receive", {"account": ALICE, "timeout": 0.05}) == []
    assert await rpc.call("unblock", {"account": ALICE, "recipient": CAROL}) == {}
    await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "message": "seen"})
    got = await rpc.call("receive", {"account": ALICE, "timeout": 0.05})
    assert [m["envelope"]["dataMessage"]["message"] for m in got] == ["seen"]


async def test_edit_message_and_concurrent_clients(sandbox: Sandbox, rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    other = await sandbox.connect()
    first = await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": "v1"})
    edited = await other.call(
        "send",
        {
            "account": ALICE,
            "recipient": CAROL,
            "message": "v2",
            "editTimestamp": first["timestamp"],
        },
    )
    inbox = await rpc.call("sandbox.listReceived", {"number": CAROL})
    assert inbox[1]["envelope"]["editMessage"] == {
        "targetSentTimestamp": first["timestamp"],
        "dataMessage": {
            "timestamp": edited["timestamp"],
            "message": "v2",
            "expiresInSeconds": 0,
            "isExpirationUpdate": False,
            "viewOnce": False,
        },
    }
