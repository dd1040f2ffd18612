"""Usernames, profile names and linked devices end to end, over real HTTP, on the sandbox."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import pytest

from tests.support.flows import ALICE, BOB, link_phone, register
from tests.support.service import RunningService
from tests.support.shapes import UUID, data_message

CAROL = "+4915100000003"  # an outside Signal user (or, linked here, an account with a phone)
DAVE = "+4915100000004"  # another outside user

LINK = re.compile(r"^https://signal\.me/#eu/[A-Za-z0-9_-]{64}$")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def envelope(
    got: dict[str, Any], *, source: str, device: int = 1, name: str | None = None, **content: Any
) -> dict[str, Any]:
    """The whole envelope, with the values only the network knows checked by shape."""
    assert UUID.match(got["sourceUuid"]), got
    assert got["serverReceivedTimestamp"] >= got["timestamp"] - 50
    assert got["serverDeliveredTimestamp"] >= got["serverReceivedTimestamp"]
    return {
        "source": source,
        "sourceNumber": source,
        "sourceUuid": got["sourceUuid"],
        "sourceName": name,
        "sourceDevice": device,
        "timestamp": got["timestamp"],
        "serverReceivedTimestamp": got["serverReceivedTimestamp"],
        "serverDeliveredTimestamp": got["serverDeliveredTimestamp"],
        **content,
    }


def sent_timestamp(response: Any) -> int:
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == [{"timestamp": body[0]["timestamp"]}]
    return int(body[0]["timestamp"])


def phone_of(service: RunningService, number: str) -> list[dict[str, Any]]:
    """What an outside phone received, receipts left out."""
    response = service.client.get(f"/v1/sandbox/received/{number}")
    assert response.status_code == 200, response.text
    return [m for m in response.json() if "receiptMessage" not in m["envelope"]]


def receive_kind(
    service: RunningService, number: str, kind: str, timeout: float = 10.0
) -> dict[str, Any]:
    """Poll /v1/receive until a message with `kind` (e.g. syncMessage) arrives."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = service.client.get(f"/v1/receive/{number}", params={"timeout": "1"})
        assert response.status_code == 200, response.text
        for message in response.json():
            if kind in message["envelope"]:
                return dict(message)
    raise AssertionError(f"no {kind} arrived for {number}")


# usernames


def test_send_to_a_username_reaches_its_holder(service: RunningService) -> None:
    register(service.client, ALICE)
    response = service.client.put(f"/v1/sandbox/numbers/{CAROL}", json={"username": "carol.07"})
    assert response.status_code == 200, response.text
    carol = response.json()
    assert LINK.match(carol["username_link"]), carol
    assert carol == {
        "number": CAROL,
        "registered": True,
        "requires_captcha": False,
        "registration_lock_pin": None,
        "username": "carol.07",
        "username_link": carol["username_link"],
    }
    response = service.client.post(
        "/v2/send", json={"number": ALICE, "recipients": ["carol.07"], "message": "hi Carol"}
    )
    ts = sent_timestamp(response)
    [message] = phone_of(service, CAROL)
    assert message == {
        "envelope": envelope(
            message["envelope"], source=ALICE, dataMessage=data_message(ts, "hi Carol")
        ),
        "account": CAROL,
    }


def test_send_to_an_unknown_username_fails(service: RunningService) -> None:
    register(service.client, ALICE)
    response = service.client.post(
        "/v2/send", json={"number": ALICE, "recipients": ["nobody.12"], "message": "hi"}
    )
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "Failed to send message (nobody.12: UNREGISTERED_FAILURE)"}


def test_sandbox_username_refuses_a_taken_or_invalid_name(service: RunningService) -> None:
    ok = service.client.put(f"/v1/sandbox/numbers/{CAROL}", json={"username": "carol.07"})
    assert ok.status_code == 200, ok.text
    cases = [
        ({"username": "Carol.07"}, "Invalid username: Username is already registered"),
        (
            {"username": "x!"},
            "Invalid username: Nickname contains disallowed character "
            "(BadNicknameCharacterException)",
        ),
        ({"username": 7}, "Couldn't process request - username must be a string or null, got 7"),
    ]
    for body, error in cases:
        response = service.client.put(f"/v1/sandbox/numbers/{DAVE}", json=body)
        assert (response.status_code, response.json()) == (400, {"error": error}), body
    gone = service.client.put(f"/v1/sandbox/numbers/{CAROL}", json={"username": None})
    assert (gone.json()["username"], gone.json()["username_link"]) == (None, None)


# profiles


def test_an_outside_users_profile_name_is_the_source_name(accounts: RunningService) -> None:
    service = accounts
    body = {"given_name": "Carol", "family_name": "Smith", "avatar": base64.b64encode(PNG).decode()}
    response = service.client.put(f"/v1/sandbox/profiles/{CAROL}", json=body)
    assert response.status_code == 200, response.text
    profile = response.json()
    assert profile == {
        "number": CAROL,
        "given_name": "Carol",
        "family_name": "Smith",
        "about": None,
        "about_emoji": None,
        "has_avatar": True,
        "last_updated_timestamp": profile["last_updated_timestamp"],
    }
    assert service.backend.sandbox is not None
    assert service.backend.sandbox.network.profile_avatar(CAROL) == PNG
    response = service.client.post(
        "/v1/sandbox/send", json={"from": CAROL, "recipients": [ALICE], "message": "hello"}
    )
    assert response.status_code == 201, response.text
    ts = int(response.json()["timestamp"])
    message = receive_kind(service, ALICE, "dataMessage")
    assert message == {
        "envelope": envelope(
            message["envelope"],
            source=CAROL,
            name="Carol Smith",
            dataMessage=data_message(ts, "hello"),
        ),
        "account": ALICE,
    }


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            b'{"given_name": 5}',
            "Couldn't process request - given_name must be a string or null, got 5",
        ),
        (b'{"avatar": "%%%"}', "avatar must be base64 or null"),
        ('{"avatar": "\u00e9t\u00e9"}'.encode(), "avatar must be base64 or null"),
        (b"[]", "Couldn't process request - the body must be a JSON object, got a list"),
        (
            b"{nope",
            "Couldn't process request - invalid JSON at line 1, column 2: "
            "Expecting property name enclosed in double quotes",
        ),
    ],
    ids=["number-name", "bad-avatar", "non-ascii-avatar", "array", "malformed"],
)
def test_sandbox_profile_rejects_bad_bodies(
    service: RunningService, body: bytes, error: str
) -> None:
    response = service.client.put(f"/v1/sandbox/profiles/{CAROL}", content=body)
    assert (response.status_code, response.json()) == (400, {"error": error})


# linked devices


def test_notify_self_decides_what_the_phone_of_a_linked_account_gets(
    service: RunningService,
) -> None:
    link_phone(service.client, CAROL)
    response = service.client.post(
        "/v2/send", json={"number": CAROL, "recipients": [DAVE], "message": "to Dave"}
    )
    to_dave = sent_timestamp(response)
    # notify_self is on unless turned off: a note to self reaches the phone as a message ...
    response = service.client.post(
        "/v2/send", json={"number": CAROL, "recipients": [CAROL], "message": "ping"}
    )
    loud = sent_timestamp(response)
    # ... and without it as a transcript of what was sent.
    response = service.client.post(
        "/v2/send",
        json={"number": CAROL, "recipients": [CAROL], "message": "memo", "notify_self": False},
    )
    quiet = sent_timestamp(response)
    assert service.backend.sandbox is not None
    dave_uuid = service.backend.sandbox.network.uuid_of(DAVE)
    transcript, ping, memo = phone_of(service, CAROL)
    carol_uuid = ping["envelope"]["sourceUuid"]

    def sent(destination: str, uuid: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "sentMessage": {
                "destination": destination,
                "destinationNumber": destination,
                "destinationUuid": uuid,
                **data,
            }
        }

    assert [transcript, ping, memo] == [
        {
            "envelope": envelope(
                transcript["envelope"],
                source=CAROL,
                device=2,
                syncMessage=sent(DAVE, dave_uuid, data_message(to_dave, "to Dave")),
            ),
            "account": CAROL,
        },
        {
            "envelope": envelope(
                ping["envelope"], source=CAROL, device=2, dataMessage=data_message(loud, "ping")
            ),
            "account": CAROL,
        },
        {
            "envelope": envelope(
                memo["envelope"],
                source=CAROL,
                device=2,
                syncMessage=sent(CAROL, carol_uuid, data_message(quiet, "memo")),
            ),
            "account": CAROL,
        },
    ]


def test_what_the_phone_sends_reaches_the_linked_account_as_a_sync(
    service: RunningService,
) -> None:
    link_phone(service.client, CAROL)
    response = service.client.post(
        "/v1/sandbox/send", json={"from": CAROL, "recipients": [DAVE], "message": "from phone"}
    )
    assert response.status_code == 201, response.text
    ts = int(response.json()["timestamp"])
    [to_dave] = phone_of(service, DAVE)
    assert to_dave["envelope"]["sourceDevice"] == 1
    assert service.backend.sandbox is not None
    dave_uuid = service.backend.sandbox.network.uuid_of(DAVE)
    message = receive_kind(service, CAROL, "syncMessage")
    assert message == {
        "envelope": envelope(
            message["envelope"],
            source=CAROL,
            syncMessage={
                "sentMessage": {
                    "destination": DAVE,
                    "destinationNumber": DAVE,
                    "destinationUuid": dave_uuid,
                    **data_message(ts, "from phone"),
                }
            },
        ),
        "account": CAROL,
    }


def test_a_group_member_named_by_username_joins_the_group(accounts: RunningService) -> None:
    service = accounts
    response = service.client.put(f"/v1/sandbox/numbers/{CAROL}", json={"username": "carol.07"})
    assert response.status_code == 200, response.text
    response = service.client.post(
        f"/v1/groups/{ALICE}", json={"name": "Team", "members": ["carol.07"]}
    )
    assert response.status_code == 201, response.text
    group_id = response.json()["id"]
    [entry] = service.client.get(f"/v1/groups/{ALICE}").json()
    assert (entry["id"], entry["members"]) == (group_id, [ALICE, CAROL])


def test_an_account_stays_a_signal_user_whatever_its_number_is_set_to(
    accounts: RunningService,
) -> None:
    client = accounts.client
    response = client.put(f"/v1/sandbox/numbers/{ALICE}", json={"registered": False})
    assert (response.status_code, response.json()) == (
        200,
        {
            "number": ALICE,
            "registered": False,  # the setting as stored
            "requires_captcha": False,
            "registration_lock_pin": None,
            "username": None,
            "username_link": None,
        },
    )
    sent = client.post("/v2/send", json={"number": BOB, "recipients": [ALICE], "message": "hi"})
    assert sent.status_code == 201, sent.text
    found = client.get(f"/v1/search/{BOB}", params={"numbers": [ALICE]})
    assert (found.status_code, found.json()) == (200, [{"number": ALICE, "registered": True}])
