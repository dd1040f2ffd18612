"""Reactions, receipts, typing indicators, remote deletes and edits, end to end on the sandbox.

Each route's effect is asserted as the other party receives it: an outside user's phone
(`/v1/sandbox/received`) or another account of the service (`/v1/receive`), whole envelopes.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest

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
    assert envelope["serverReceivedTimestamp"] >= ts
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


def received_by_outsider(client: httpx.Client, number: str, key: str) -> list[dict[str, Any]]:
    """What the outside user's phone has received that carries `key`, oldest first."""
    response = client.get(f"/v1/sandbox/received/{number}")
    assert response.status_code == 200, response.text
    return [m for m in response.json() if key in m["envelope"]]


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


def last_sent_ts(client: httpx.Client, number: str, key: str) -> int:
    """The timestamp of the last envelope with `key` the outside user received."""
    return int(received_by_outsider(client, number, key)[-1]["envelope"]["timestamp"])


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
