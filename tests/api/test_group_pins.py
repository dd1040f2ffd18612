"""`/v1/groups/{number}/{groupid}/pin-message` end to end on the sandbox."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_polls import CAROL, group_info, make_group, outside_received, uuid_of
from tests.api.test_send_receive import assert_envelope
from tests.support.flows import ALICE, BOB, receive_until
from tests.support.service import RunningService
from tests.support.shapes import data_message


def sent_by(client: httpx.Client, number: str, text: str, rest_id: str) -> int:
    response = client.post(
        "/v2/send", json={"number": number, "recipients": [rest_id], "message": text}
    )
    assert response.status_code == 201, response.text
    return int(response.json()[0]["timestamp"])


def test_pin_and_unpin_a_group_message(accounts: RunningService) -> None:
    client = accounts.client
    rest_id, internal_id = make_group(client)
    target = sent_by(client, BOB, "pin me", rest_id)
    path = f"/v1/groups/{ALICE}/{rest_id}/pin-message"
    pinned = client.post(path, json={"target_author": BOB, "timestamp": target})
    assert (pinned.status_code, pinned.content) == (201, b"")
    # A duration is passed on.
    again = client.post(path, json={"target_author": BOB, "timestamp": target, "duration": 86400})
    assert (again.status_code, again.content) == (201, b"")
    unpinned = client.request("DELETE", path, json={"target_author": BOB, "timestamp": target})
    assert (unpinned.status_code, unpinned.content) == (201, b"")

    bob_uuid = uuid_of(client, BOB)
    author = {"targetAuthor": BOB, "targetAuthorNumber": BOB, "targetAuthorUuid": bob_uuid}
    messages = outside_received(client, CAROL)[1:]  # after Bob's message itself
    stamps = [m["envelope"]["timestamp"] for m in messages]
    assert [m["envelope"]["sourceNumber"] for m in messages] == [ALICE, ALICE, ALICE]

    def pin(ts: int, duration: int) -> dict[str, Any]:
        return data_message(
            ts,
            None,
            groupInfo=group_info(internal_id),
            pinMessage={**author, "targetSentTimestamp": target, "pinDurationSeconds": duration},
        )

    unpin = data_message(
        stamps[2],
        None,
        groupInfo=group_info(internal_id),
        unpinMessage={**author, "targetSentTimestamp": target},
    )
    assert [m["envelope"]["dataMessage"] for m in messages] == [
        pin(stamps[0], -1),
        pin(stamps[1], 86400),
        unpin,
    ]
    # Bob, an account of the service, receives the same in signal-cli's envelope.
    received = receive_until(client, BOB, 3)
    assert_envelope(received[0], account=BOB, source=ALICE, ts=stamps[0], data=pin(stamps[0], -1))
    assert_envelope(received[2], account=BOB, source=ALICE, ts=stamps[2], data=unpin)


def test_an_outside_user_pins_a_message_for_an_account(accounts: RunningService) -> None:
    client = accounts.client
    rest_id, internal_id = make_group(client)
    target = sent_by(client, ALICE, "important", rest_id)
    acted = client.post(
        "/v1/sandbox/act",
        json={
            "from": CAROL,
            "method": "sendPinMessage",
            "params": {
                "groupId": internal_id,
                "targetAuthor": ALICE,
                "targetTimestamp": target,
                "pinDuration": -1,
            },
        },
    )
    assert acted.status_code == 200, acted.text
    ts = acted.json()["timestamp"]
    received = receive_until(client, BOB, 2)  # Alice's message, then Carol's pin
    pin = {
        "targetAuthor": ALICE,
        "targetAuthorNumber": ALICE,
        "targetAuthorUuid": uuid_of(client, ALICE),
        "targetSentTimestamp": target,
        "pinDurationSeconds": -1,
    }
    data = data_message(ts, None, groupInfo=group_info(internal_id), pinMessage=pin)
    assert_envelope(received[1], account=BOB, source=CAROL, ts=ts, data=data)


@pytest.mark.parametrize("prefix", ["group.", ""], ids=["rest-id", "without-prefix"])
def test_pin_in_an_unknown_group_is_refused(accounts: RunningService, prefix: str) -> None:
    # Both forms of the id name the same group (one that does not exist).
    unknown = prefix + "QUFFQ0F3UUZCZ2NJQ1FvTERBME9EeEFSRWhNVUZSWVhHQmthR3h3ZEhoOD0="
    response = accounts.client.request(
        "POST" if prefix else "DELETE",
        f"/v1/groups/{ALICE}/{unknown}/pin-message",
        json={"target_author": BOB, "timestamp": 1752436809700},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "Group not found: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    }


GOOD = {"target_author": BOB, "timestamp": 1752436809700}
P = "Couldn't process request - "
NO_AUTHOR = "Couldn't process request - target author missing"
NO_TIMESTAMP = "Couldn't process request - timestamp missing"


@pytest.mark.parametrize("method", ["POST", "DELETE"])
@pytest.mark.parametrize(
    ("groupid", "body", "error"),
    [
        ("", GOOD, "Please specify a group id"),
        ("group.%FF%FF", GOOD, "Invalid group id"),
        ("@@@", GOOD, "Invalid group id"),
        (None, {**GOOD, "target_author": ""}, NO_AUTHOR),
        (None, {"timestamp": 0}, NO_AUTHOR),
        (None, {**GOOD, "timestamp": 0}, NO_TIMESTAMP),
        (
            None,
            {**GOOD, "timestamp": "1752436809700"},
            P + 'timestamp must be a 64-bit integer, got the string "1752436809700"',
        ),
        (
            None,
            {**GOOD, "timestamp": 2**63},
            P + "timestamp must be a 64-bit integer, got 9223372036854775808",
        ),
        (None, None, P + "the body is empty: this route needs a JSON object"),
    ],
    ids=[
        "empty-group-id",
        "undecodable-group-id",
        "not-base64-group-id",
        "no-author",
        "author-checked-first",
        "no-timestamp",
        "timestamp-as-string",
        "timestamp-beyond-int64",
        "no-body",
    ],
)
def test_pin_routes_reject_bad_input(
    accounts: RunningService, method: str, groupid: str | None, body: Any, error: str
) -> None:
    client = accounts.client
    rest_id, _ = make_group(client)
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    path = f"/v1/groups/{ALICE}/{rest_id if groupid is None else groupid}/pin-message"
    response = client.request(method, path, **kwargs)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert outside_received(client, CAROL) == []


def test_pin_duration_must_fit_signal_clis_int(accounts: RunningService) -> None:
    client = accounts.client
    rest_id, _ = make_group(client)
    response = client.post(
        f"/v1/groups/{ALICE}/{rest_id}/pin-message", json={**GOOD, "duration": 2**31}
    )
    assert (response.status_code, response.json()) == (
        400,
        {"error": P + "duration must be a 32-bit integer, got 2147483648"},
    )
