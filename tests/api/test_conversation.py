"""Reactions, receipts, typing indicators, remote deletes and edits, end to end on the sandbox.

Each route's effect is asserted as the other party receives it: an outside user's phone
(`/v1/sandbox/received`) or another account of the service (`/v1/receive`), whole envelopes.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.flows import ALICE, BOB
from tests.support.service import RunningService
from tests.support.shapes import UUID, data_message

CAROL = "+4915100000003"  # an outside Signal user
TARGET_TS = 1752436800000  # a message's timestamp, as reactions and receipts name it


def envelope_of(
    message: dict[str, Any], *, account: str, source: str, ts: int, **content: Any
) -> dict[str, Any]:
    """The whole received object as signal-cli emits it; only what the network makes up (ACI,
    server times, profile name) is taken from `message`, after its shape is checked."""
    envelope = message["envelope"]
    assert UUID.match(envelope["sourceUuid"]), envelope
    # The sandbox's clock: server times are real, message timestamps unique (so may run ahead).
    assert envelope["serverReceivedTimestamp"] > 0
    return {
        "envelope": {
            "source": source,
            "sourceNumber": source,
            "sourceUuid": envelope["sourceUuid"],
            "sourceName": envelope["sourceName"],
            "sourceDevice": 1,
            "timestamp": ts,
            "serverReceivedTimestamp": envelope["serverReceivedTimestamp"],
            "serverDeliveredTimestamp": envelope["serverDeliveredTimestamp"],
            **content,
        },
        "account": account,
    }


def received_by_outsider(
    client: httpx.Client, number: str, key: str | None = None
) -> list[dict[str, Any]]:
    """What the outside user's phone has received (that carries `key`), oldest first."""
    response = client.get(f"/v1/sandbox/received/{number}")
    assert response.status_code == 200, response.text
    return [m for m in response.json() if key is None or key in m["envelope"]]


def receive_one(client: httpx.Client, number: str, ts: int) -> dict[str, Any]:
    """Poll the account's inbox until the envelope sent at `ts` arrives."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = client.get(f"/v1/receive/{number}", params={"timeout": "1"})
        assert response.status_code == 200, response.text
        for message in response.json():
            if message["envelope"]["timestamp"] == ts:
                return dict(message)
    raise AssertionError(f"the envelope of {ts} did not arrive at {number}")


def sent_timestamp(response: httpx.Response) -> int:
    assert response.status_code == 201, response.text
    return int(response.json()[0]["timestamp"])


def uuid_of(client: httpx.Client, number: str) -> str:
    """The ACI the sandbox gave `number`, as the envelope of a message from it shows."""
    sent = client.post("/v2/send", json={"number": number, "recipients": [CAROL], "message": "x"})
    ts = sent_timestamp(sent)
    [message] = [
        m
        for m in received_by_outsider(client, CAROL, "dataMessage")
        if m["envelope"]["timestamp"] == ts
    ]
    return str(message["envelope"]["sourceUuid"])


def new_group(client: httpx.Client, *members: str) -> tuple[str, str]:
    """A group of ALICE's with `members`: its REST id and its internal id."""
    created = client.post(f"/v1/groups/{ALICE}", json={"name": "Team", "members": list(members)})
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    return group_id, base64.b64decode(group_id.removeprefix("group.")).decode()


def group_info(internal_id: str) -> dict[str, Any]:
    return {"groupId": internal_id, "groupName": "Team", "revision": 0, "type": "DELIVER"}


# --- reactions -------------------------------------------------------------------------------


def test_reaction_and_its_removal_reach_an_outside_user(accounts: RunningService) -> None:
    client = accounts.client
    alice_uuid = uuid_of(client, ALICE)
    body = {"recipient": CAROL, "reaction": "🎉", "target_author": ALICE, "timestamp": TARGET_TS}

    added = client.post(f"/v1/reactions/{ALICE}", json=body)
    assert (added.status_code, added.content) == (204, b"")
    removed = client.request("DELETE", f"/v1/reactions/{ALICE}", json={**body, "reaction": ""})
    assert (removed.status_code, removed.content) == (204, b"")

    reactions = received_by_outsider(client, CAROL, "dataMessage")[-2:]
    expected = []
    for message, emoji, is_remove in zip(reactions, ["🎉", "👍"], [False, True], strict=True):
        ts = message["envelope"]["timestamp"]
        reaction = {
            "emoji": emoji,
            "targetAuthor": ALICE,
            "targetAuthorNumber": ALICE,
            "targetAuthorUuid": alice_uuid,
            "targetSentTimestamp": TARGET_TS,
            "isRemove": is_remove,
        }
        expected.append(
            envelope_of(
                message,
                account=CAROL,
                source=ALICE,
                ts=ts,
                dataMessage=data_message(ts, None, reaction=reaction),
            )
        )
    assert reactions == expected


def test_reaction_in_a_group_reaches_its_members(accounts: RunningService) -> None:
    client = accounts.client
    group_id, internal_id = new_group(client, BOB)
    bob_uuid = uuid_of(client, BOB)
    body = {"recipient": group_id, "reaction": "❤️", "target_author": BOB, "timestamp": TARGET_TS}
    response = client.post(f"/v1/reactions/{ALICE}", json=body)
    assert response.status_code == 204, response.text

    message = receive_one_with(client, BOB, "reaction")
    ts = message["envelope"]["timestamp"]
    reaction = {
        "emoji": "❤️",
        "targetAuthor": BOB,
        "targetAuthorNumber": BOB,
        "targetAuthorUuid": bob_uuid,
        "targetSentTimestamp": TARGET_TS,
        "isRemove": False,
    }
    data = data_message(ts, None, reaction=reaction, groupInfo=group_info(internal_id))
    assert message == envelope_of(message, account=BOB, source=ALICE, ts=ts, dataMessage=data)


def receive_one_with(client: httpx.Client, number: str, key: str) -> dict[str, Any]:
    """Poll the account's inbox until a dataMessage carrying `key` arrives."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = client.get(f"/v1/receive/{number}", params={"timeout": "1"})
        assert response.status_code == 200, response.text
        for message in response.json():
            if key in (message["envelope"].get("dataMessage") or {}):
                return dict(message)
    raise AssertionError(f"no {key} arrived at {number}")


# --- receipts --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["read", "viewed"])
def test_receipt_reaches_the_sender_with_its_type(accounts: RunningService, kind: str) -> None:
    client = accounts.client
    body = {"recipient": CAROL, "receipt_type": kind, "timestamp": TARGET_TS}
    response = client.post(f"/v1/receipts/{ALICE}", json=body)
    assert (response.status_code, response.content) == (204, b"")

    [message] = received_by_outsider(client, CAROL, "receiptMessage")
    ts = message["envelope"]["timestamp"]
    receipt = {
        "when": ts,
        "isDelivery": False,
        "isRead": kind == "read",
        "isViewed": kind == "viewed",
        "timestamps": [TARGET_TS],
    }
    assert message == envelope_of(
        message, account=CAROL, source=ALICE, ts=ts, receiptMessage=receipt
    )


def test_viewed_receipt_reaches_another_account(accounts: RunningService) -> None:
    client = accounts.client
    body = {"recipient": BOB, "receipt_type": "viewed", "timestamp": TARGET_TS}
    response = client.post(f"/v1/receipts/{ALICE}", json=body)
    assert (response.status_code, response.content) == (204, b"")

    deadline = time.monotonic() + 10
    receipts: list[dict[str, Any]] = []
    while not receipts and time.monotonic() < deadline:
        polled = client.get(f"/v1/receive/{BOB}", params={"timeout": "1"}).json()
        receipts = [m for m in polled if "receiptMessage" in m["envelope"]]
    [message] = receipts
    ts = message["envelope"]["timestamp"]
    receipt = {
        "when": ts,
        "isDelivery": False,
        "isRead": False,
        "isViewed": True,
        "timestamps": [TARGET_TS],
    }
    assert message == envelope_of(message, account=BOB, source=ALICE, ts=ts, receiptMessage=receipt)


# --- typing ----------------------------------------------------------------------------------


def test_typing_started_and_stopped_reach_an_outside_user(accounts: RunningService) -> None:
    client = accounts.client
    started = client.put(f"/v1/typing-indicator/{ALICE}", json={"recipient": CAROL})
    assert (started.status_code, started.content) == (204, b"")
    stopped = client.request("DELETE", f"/v1/typing-indicator/{ALICE}", json={"recipient": CAROL})
    assert (stopped.status_code, stopped.content) == (204, b"")

    messages = received_by_outsider(client, CAROL, "typingMessage")
    expected = [
        envelope_of(
            message,
            account=CAROL,
            source=ALICE,
            ts=message["envelope"]["timestamp"],
            typingMessage={"action": action, "timestamp": message["envelope"]["timestamp"]},
        )
        for message, action in zip(messages, ["STARTED", "STOPPED"], strict=True)
    ]
    assert messages == expected


def test_typing_in_a_group_names_the_group(accounts: RunningService) -> None:
    client = accounts.client
    group_id, internal_id = new_group(client, BOB)
    response = client.put(f"/v1/typing-indicator/{ALICE}", json={"recipient": group_id})
    assert response.status_code == 204, response.text

    deadline = time.monotonic() + 10
    typing: list[dict[str, Any]] = []
    while not typing and time.monotonic() < deadline:
        polled = client.get(f"/v1/receive/{BOB}", params={"timeout": "1"}).json()
        typing = [m for m in polled if "typingMessage" in m["envelope"]]
    [message] = typing
    ts = message["envelope"]["timestamp"]
    assert message == envelope_of(
        message,
        account=BOB,
        source=ALICE,
        ts=ts,
        typingMessage={"action": "STARTED", "timestamp": ts, "groupId": internal_id},
    )


# --- remote delete and edit ------------------------------------------------------------------


def test_remote_delete_answers_201_and_reaches_the_recipient(accounts: RunningService) -> None:
    client = accounts.client
    sent = sent_timestamp(
        client.post("/v2/send", json={"number": ALICE, "recipients": [BOB], "message": "oops"})
    )
    response = client.request(
        "DELETE", f"/v1/remote-delete/{ALICE}", json={"recipient": BOB, "timestamp": sent}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"timestamp": body["timestamp"]}
    ts = int(body["timestamp"])
    assert ts > sent

    message = receive_one(client, BOB, ts)
    data = data_message(ts, None, remoteDelete={"timestamp": sent})
    assert message == envelope_of(message, account=BOB, source=ALICE, ts=ts, dataMessage=data)


def test_send_with_edit_timestamp_arrives_as_an_edit(accounts: RunningService) -> None:
    client = accounts.client
    sent = sent_timestamp(
        client.post("/v2/send", json={"number": ALICE, "recipients": [BOB], "message": "helo"})
    )
    edit = sent_timestamp(
        client.post(
            "/v2/send",
            json={"number": ALICE, "recipients": [BOB], "message": "hello", "edit_timestamp": sent},
        )
    )
    message = receive_one(client, BOB, edit)
    assert message == envelope_of(
        message,
        account=BOB,
        source=ALICE,
        ts=edit,
        editMessage={"targetSentTimestamp": sent, "dataMessage": data_message(edit, "hello")},
    )


# --- validation ------------------------------------------------------------------------------

REACTION = {"recipient": CAROL, "reaction": "👍", "target_author": CAROL, "timestamp": TARGET_TS}
BAD_GROUP = "group.bm90IGEgZ3JvdXAgaWQ!"  # neither base64 nor a short username


@pytest.mark.parametrize(
    ("method", "path", "body", "error"),
    [
        ("POST", "reactions", {}, "Couldn't process request - recipient missing"),
        (
            "POST",
            "reactions",
            {**REACTION, "reaction": ""},
            "Couldn't process request - reaction missing",
        ),
        (
            "POST",
            "reactions",
            {**REACTION, "target_author": ""},
            "Couldn't process request - target_author missing",
        ),
        (
            "POST",
            "reactions",
            {**REACTION, "timestamp": 0},
            "Couldn't process request - timestamp missing",
        ),
        (
            "POST",
            "reactions",
            {**REACTION, "timestamp": 1},
            "Couldn't process request - timestamp must be the message's timestamp in milliseconds",
        ),
        (
            "DELETE",
            "reactions",
            {"recipient": CAROL, "target_author": CAROL},
            "Couldn't process request - timestamp missing",
        ),
        (
            "POST",
            "reactions",
            {**REACTION, "timestamp": "1752436800000"},
            "Couldn't process request - timestamp must be a 64-bit integer, "
            'got the string "1752436800000"',
        ),
        ("POST", "reactions", {**REACTION, "recipient": BAD_GROUP}, "Invalid group id"),
        ("POST", "receipts", {}, "Couldn't process request - recipient missing"),
        (
            "POST",
            "receipts",
            {"recipient": CAROL, "timestamp": TARGET_TS},
            "Couldn't process request - receipt type must be read or viewed",
        ),
        (
            "POST",
            "receipts",
            {"recipient": CAROL, "receipt_type": "delivered", "timestamp": TARGET_TS},
            "Couldn't process request - receipt type must be read or viewed",
        ),
        (
            "POST",
            "receipts",
            {"recipient": CAROL, "receipt_type": "read"},
            "Couldn't process request - timestamp missing",
        ),
        (
            "POST",
            "receipts",
            {
                "recipient": "group.UG1waStFZlBXbXN4aW9tTGU5TngyWEY5SE9FNDgzcDZpS2lGajY1aU13ST0=",
                "receipt_type": "read",
                "timestamp": TARGET_TS,
            },
            "Couldn't process request - a receipt goes to the sender of the message, "
            "not to a group",
        ),
        ("PUT", "typing-indicator", {}, "Couldn't process request - recipient missing"),
        ("DELETE", "typing-indicator", {"recipient": BAD_GROUP}, "Invalid group id"),
        ("DELETE", "remote-delete", {}, "Couldn't process request - recipient missing"),
        (
            "DELETE",
            "remote-delete",
            {"recipient": CAROL},
            "Couldn't process request - timestamp missing",
        ),
        (
            "DELETE",
            "remote-delete",
            {"recipient": BAD_GROUP, "timestamp": TARGET_TS},
            f"Invalid identifier {BAD_GROUP}",
        ),
        (
            "DELETE",
            "remote-delete",
            {"recipient": "group.YWJjPQ==", "timestamp": TARGET_TS},
            "Invalid Signal group size (2",
        ),
    ],
    ids=[
        "reaction-recipient",
        "reaction-emoji",
        "reaction-target-author",
        "reaction-timestamp",
        "reaction-small-timestamp",
        "unreaction-timestamp",
        "reaction-timestamp-type",
        "reaction-bad-group",
        "receipt-recipient",
        "receipt-no-type",
        "receipt-bad-type",
        "receipt-timestamp",
        "receipt-to-group",
        "typing-recipient",
        "typing-bad-group",
        "delete-recipient",
        "delete-timestamp",
        "delete-bad-identifier",
        "delete-group-size",
    ],
)
def test_conversation_routes_refuse_bad_bodies(
    accounts: RunningService, method: str, path: str, body: dict[str, Any], error: str
) -> None:
    response = accounts.client.request(method, f"/v1/{path}/{ALICE}", json=body)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert received_by_outsider(accounts.client, CAROL) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "reactions"),
        ("DELETE", "reactions"),
        ("POST", "receipts"),
        ("PUT", "typing-indicator"),
        ("DELETE", "typing-indicator"),
        ("DELETE", "remote-delete"),
    ],
)
def test_conversation_routes_refuse_empty_and_non_json_bodies(
    accounts: RunningService, method: str, path: str
) -> None:
    answers = {
        b"": "the body is empty: this route needs a JSON object",
        b"{nope": "invalid JSON at line 1, column 2: "
        "Expecting property name enclosed in double quotes",
        b"[1]": "the body must be a JSON object, got a list",
    }
    for content, error in answers.items():
        response = accounts.client.request(method, f"/v1/{path}/{ALICE}", content=content)
        assert (response.status_code, response.json()) == (
            400,
            {"error": f"Couldn't process request - {error}"},
        )


def test_reaction_to_an_unregistered_number_names_it(accounts: RunningService) -> None:
    unknown = "+4915100000099"
    settings = accounts.client.put(f"/v1/sandbox/numbers/{unknown}", json={"registered": False})
    assert settings.status_code == 200, settings.text
    body = {**REACTION, "recipient": unknown, "target_author": unknown}
    response = accounts.client.post(f"/v1/reactions/{ALICE}", json=body)
    assert (response.status_code, response.json()) == (
        400,
        {"error": f"Failed to send message ({unknown}: UNREGISTERED_FAILURE)"},
    )


def test_reactions_typing_and_deletes_reach_a_username(accounts: RunningService) -> None:
    client = accounts.client
    named = client.put(f"/v1/sandbox/numbers/{CAROL}", json={"username": "carol.42"})
    assert named.status_code == 200, named.text
    alice_uuid = uuid_of(client, ALICE)

    body = {
        "recipient": "carol.42",
        "reaction": "🎉",
        "target_author": ALICE,
        "timestamp": TARGET_TS,
    }
    reacted = client.post(f"/v1/reactions/{ALICE}", json=body)
    assert (reacted.status_code, reacted.content) == (204, b"")
    typing = client.put(f"/v1/typing-indicator/{ALICE}", json={"recipient": "carol.42"})
    assert (typing.status_code, typing.content) == (204, b"")
    deleted = client.request(
        "DELETE",
        f"/v1/remote-delete/{ALICE}",
        json={"recipient": "carol.42", "timestamp": TARGET_TS},
    )
    assert deleted.status_code == 201, deleted.text
    delete_ts = int(deleted.json()["timestamp"])

    # (the first data message is the one uuid_of sent to learn ALICE's ACI)
    [reaction, remote_delete] = received_by_outsider(client, CAROL, "dataMessage")[-2:]
    [typed] = received_by_outsider(client, CAROL, "typingMessage")
    reaction_ts = reaction["envelope"]["timestamp"]
    typing_ts = typed["envelope"]["timestamp"]
    assert [reaction, typed, remote_delete] == [
        envelope_of(
            reaction,
            account=CAROL,
            source=ALICE,
            ts=reaction_ts,
            dataMessage=data_message(
                reaction_ts,
                None,
                reaction={
                    "emoji": "🎉",
                    "targetAuthor": ALICE,
                    "targetAuthorNumber": ALICE,
                    "targetAuthorUuid": alice_uuid,
                    "targetSentTimestamp": TARGET_TS,
                    "isRemove": False,
                },
            ),
        ),
        envelope_of(
            typed,
            account=CAROL,
            source=ALICE,
            ts=typing_ts,
            typingMessage={"action": "STARTED", "timestamp": typing_ts},
        ),
        envelope_of(
            remote_delete,
            account=CAROL,
            source=ALICE,
            ts=delete_ts,
            dataMessage=data_message(delete_ts, None, remoteDelete={"timestamp": TARGET_TS}),
        ),
    ]


def test_a_username_nobody_holds_is_named_in_the_error(accounts: RunningService) -> None:
    client = accounts.client
    body = {**REACTION, "recipient": "nobody.42"}
    reaction = client.post(f"/v1/reactions/{ALICE}", json=body)
    deleted = client.request(
        "DELETE",
        f"/v1/remote-delete/{ALICE}",
        json={"recipient": "nobody.42", "timestamp": TARGET_TS},
    )
    # sendTyping takes no `username`: the name goes as signal-cli's `u:` recipient.
    typing = client.put(f"/v1/typing-indicator/{ALICE}", json={"recipient": "nobody.42"})
    failed = (400, {"error": "Failed to send message (nobody.42: UNREGISTERED_FAILURE)"})
    for response in (reaction, deleted, typing):
        assert (response.status_code, response.json()) == failed


# --- the other direction: outside users act on accounts --------------------------------------


def act(client: httpx.Client, method: str, params: dict[str, Any]) -> int:
    """CAROL's phone runs a signal-cli method towards ALICE; the timestamp it sent."""
    response = client.post(
        "/v1/sandbox/act",
        json={"from": CAROL, "method": method, "params": {"recipient": ALICE, **params}},
    )
    assert response.status_code == 200, response.text
    return int(response.json()["timestamp"])


def acted_envelopes(client: httpx.Client) -> dict[int, dict[str, Any]]:
    """CAROL reacts, marks viewed, types and deletes towards ALICE: what ALICE should receive,
    by timestamp (besides the delivery receipt of the message that finds out ALICE's ACI)."""
    alice_uuid = uuid_of(client, ALICE)
    reacted = act(
        client,
        "sendReaction",
        {"emoji": "👀", "targetAuthor": ALICE, "targetTimestamp": TARGET_TS},
    )
    viewed = act(
        client, "sendReceipt", {"type": "viewed", "targetTimestamp": [TARGET_TS, TARGET_TS + 1]}
    )
    typed = act(client, "sendTyping", {})
    deleted = act(client, "remoteDelete", {"targetTimestamp": TARGET_TS - 1})
    reaction = {
        "emoji": "👀",
        "targetAuthor": ALICE,
        "targetAuthorNumber": ALICE,
        "targetAuthorUuid": alice_uuid,
        "targetSentTimestamp": TARGET_TS,
        "isRemove": False,
    }
    return {
        reacted: {"dataMessage": data_message(reacted, None, reaction=reaction)},
        viewed: {
            "receiptMessage": {
                "when": viewed,
                "isDelivery": False,
                "isRead": False,
                "isViewed": True,
                "timestamps": [TARGET_TS, TARGET_TS + 1],
            }
        },
        typed: {"typingMessage": {"action": "STARTED", "timestamp": typed}},
        deleted: {
            "dataMessage": data_message(deleted, None, remoteDelete={"timestamp": TARGET_TS - 1})
        },
    }


def test_an_account_polls_what_an_outside_user_did(accounts: RunningService) -> None:
    client = accounts.client
    expected = acted_envelopes(client)
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while len(received) < len(expected) and time.monotonic() < deadline:
        polled = client.get(f"/v1/receive/{ALICE}", params={"timeout": "1"}).json()
        received += [m for m in polled if m["envelope"]["timestamp"] in expected]
    assert received == [
        envelope_of(m, account=ALICE, source=CAROL, ts=ts, **expected[ts])
        for m, ts in zip(received, sorted(expected), strict=True)
    ]


def test_an_account_streams_what_an_outside_user_did(accounts: RunningService) -> None:
    with connect(f"{accounts.ws_url}/v1/receive/{ALICE}") as ws:
        expected = acted_envelopes(accounts.client)
        frames: list[dict[str, Any]] = []
        while len(frames) < len(expected):
            frame = json.loads(ws.recv(timeout=10))
            if frame["envelope"]["timestamp"] in expected:
                frames.append(frame)
    assert frames == [
        envelope_of(f, account=ALICE, source=CAROL, ts=ts, **expected[ts])
        for f, ts in zip(frames, sorted(expected), strict=True)
    ]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "reactions", REACTION),
        ("DELETE", "reactions", {k: v for k, v in REACTION.items() if k != "reaction"}),
        ("POST", "receipts", {"recipient": CAROL, "receipt_type": "read"}),
        ("DELETE", "remote-delete", {"recipient": CAROL}),
    ],
    ids=["reaction", "unreaction", "receipt", "remote-delete"],
)
def test_a_timestamp_below_two_to_the_31_is_refused_on_every_conversation_route(
    accounts: RunningService, method: str, path: str, body: dict[str, Any]
) -> None:
    response = accounts.client.request(
        method, f"/v1/{path}/{ALICE}", json={**body, "timestamp": 2**31 - 1}
    )
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Couldn't process request - timestamp must be the message's timestamp "
            "in milliseconds"
        },
    )
    assert received_by_outsider(accounts.client, CAROL) == []
