"""Profiles and contacts end to end, over real HTTP, on the sandbox: what one account sets is
what another one sees."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support.flows import ALICE, BOB, link_phone, receive_until
from tests.support.service import RunningService
from tests.support.shapes import data_message

CAROL = "+4915100000003"  # an outside Signal user
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
AVATAR = base64.b64encode(PNG).decode()


def uuid_of(service: RunningService, number: str) -> str:
    assert service.backend.sandbox is not None
    return service.backend.sandbox.network.uuid_of(number)


def send(service: RunningService, sender: str, recipient: str, text: str) -> int:
    body = {"number": sender, "recipients": [recipient], "message": text}
    response = service.client.post("/v2/send", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()[0]["timestamp"])


def contacts_of(service: RunningService, number: str, query: str = "") -> list[dict[str, Any]]:
    response = service.client.get(f"/v1/contacts/{number}{query}")
    assert response.status_code == 200, response.text
    return list(response.json())


def entry(
    service: RunningService, number: str, *, name: str = "", blocked: bool = False, **more: Any
) -> dict[str, Any]:
    """A contact entry as the Go project shapes it, with no profile unless `profile` says."""
    return {
        "number": number,
        "uuid": uuid_of(service, number),
        "name": name,
        "profile_name": "",
        "username": "",
        "color": "",
        "blocked": blocked,
        "message_expiration": "0",
        "note": "",
        "profile": {
            "given_name": "",
            "lastname": "",
            "about": "",
            "has_avatar": False,
            "last_updated_timestamp": 0,
        },
        "given_name": name,
        "nickname": {"name": "", "given_name": "", "family_name": ""},
        **more,
    }


def data_of(service: RunningService, number: str, count: int) -> list[dict[str, Any]]:
    """The next `count` dataMessages `number` receives, with the envelope's sourceName."""
    return [
        {"sourceName": m["envelope"]["sourceName"], **m["envelope"]["dataMessage"]}
        for m in receive_until(service.client, number, count)
    ]


def put_profile(service: RunningService, number: str, body: dict[str, Any]) -> None:
    response = service.client.put(f"/v1/profiles/{number}", json=body)
    assert (response.status_code, response.content) == (204, b""), response.text


# profiles


def test_a_profile_set_here_is_what_another_account_sees(accounts: RunningService) -> None:
    service = accounts
    put_profile(service, ALICE, {"name": "Alice", "about": "on call", "base64_avatar": AVATAR})
    ts = send(service, ALICE, BOB, "hi Bob")
    assert data_of(service, BOB, 1) == [{"sourceName": "Alice", **data_message(ts, "hi Bob")}]
    # Bob only heard from Alice: she is no contact of his, but one of all his recipients.
    assert contacts_of(service, BOB) == []
    [alice] = contacts_of(service, BOB, "?all_recipients=true")
    stamp = alice["profile"]["last_updated_timestamp"]
    assert stamp > 0
    profile = {
        "given_name": "Alice",
        "lastname": "",
        "about": "on call",
        "has_avatar": True,
        "last_updated_timestamp": stamp,
    }
    assert alice == entry(service, ALICE, profile_name="Alice", profile=profile)
    response = service.client.get(
        f"/v1/contacts/{BOB}/{uuid_of(service, ALICE)}", params={"all_recipients": "true"}
    )
    assert (response.status_code, response.json()) == (200, alice)
    response = service.client.get(f"/v1/contacts/{BOB}/{uuid_of(service, ALICE)}/avatar")
    assert response.status_code == 200, response.text
    assert (response.headers["content-type"], response.content) == ("image/png", PNG)


def test_a_name_only_profile_update_keeps_the_avatar(accounts: RunningService) -> None:
    service = accounts
    put_profile(service, ALICE, {"name": "Alice", "base64_avatar": AVATAR})
    put_profile(service, ALICE, {"name": "Alice B"})
    ts = send(service, ALICE, BOB, "renamed")
    assert data_of(service, BOB, 1) == [{"sourceName": "Alice B", **data_message(ts, "renamed")}]
    [alice] = contacts_of(service, BOB, "?all_recipients=true")
    assert (alice["profile_name"], alice["profile"]["has_avatar"]) == ("Alice B", True)
    response = service.client.get(f"/v1/contacts/{BOB}/{uuid_of(service, ALICE)}/avatar")
    assert (response.status_code, response.content) == (200, PNG)


def test_a_contact_without_avatar_answers_400_like_go(accounts: RunningService) -> None:
    response = accounts.client.get(f"/v1/contacts/{BOB}/{uuid_of(accounts, ALICE)}/avatar")
    assert (response.status_code, response.json()) == (400, {"error": "No avatar found."})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"about": "x"}', "Couldn't process request - profile name missing"),
        (b'{"name": ""}', "Couldn't process request - profile name missing"),
        (b'{"name": 5}', "Couldn't process request - name must be a string, got 5"),
        (
            b"{nope",
            "Couldn't process request - invalid JSON at line 1, column 2: "
            "Expecting property name enclosed in double quotes",
        ),
        (b"", "Couldn't process request - the body is empty: this route needs a JSON object"),
    ],
    ids=["no-name", "empty-name", "number-name", "malformed", "empty-body"],
)
def test_profile_update_rejects_bad_bodies(
    accounts: RunningService, body: bytes, error: str
) -> None:
    response = accounts.client.put(f"/v1/profiles/{ALICE}", content=body)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_profile_update_rejects_an_avatar_that_is_not_base64(accounts: RunningService) -> None:
    response = accounts.client.put(
        f"/v1/profiles/{ALICE}", json={"name": "Alice", "base64_avatar": "data:image/png;base64,"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("Couldn't decode base64 encoded avatar: ")


# contacts


def test_a_contact_name_and_timer_apply_to_later_messages_both_ways(
    accounts: RunningService,
) -> None:
    service = accounts
    put_profile(service, BOB, {"name": "Bob"})
    body = {"recipient": BOB, "name": "Bobby", "expiration_in_seconds": 3600}
    response = service.client.put(f"/v1/contacts/{ALICE}", json=body)
    assert (response.status_code, response.content) == (204, b""), response.text
    to_bob = send(service, ALICE, BOB, "this will vanish")
    [update, message] = data_of(service, BOB, 2)
    assert message == {
        "sourceName": None,
        **data_message(to_bob, "this will vanish", expiresInSeconds=3600),
    }
    assert update == {
        "sourceName": None,
        **data_message(update["timestamp"], None, expiresInSeconds=3600, isExpirationUpdate=True),
    }
    # Bob's side took the timer; Alice sees him under the name she gave him.
    to_alice = send(service, BOB, ALICE, "so will this")
    assert data_of(service, ALICE, 1) == [
        {"sourceName": "Bobby", **data_message(to_alice, "so will this", expiresInSeconds=3600)}
    ]
    stamp = contacts_of(service, ALICE)[0]["profile"]["last_updated_timestamp"]
    profile = {
        "given_name": "Bob",
        "lastname": "",
        "about": "",
        "has_avatar": False,
        "last_updated_timestamp": stamp,
    }
    assert contacts_of(service, ALICE) == [
        entry(
            service,
            BOB,
            name="Bobby",
            profile_name="Bob",
            message_expiration="3600",
            profile=profile,
        )
    ]
    # 0 turns the timer off again (the Go project drops it).
    body = {"recipient": BOB, "expiration_in_seconds": 0}
    assert service.client.put(f"/v1/contacts/{ALICE}", json=body).status_code == 204
    again = send(service, ALICE, BOB, "this stays")
    [update, message] = data_of(service, BOB, 2)
    assert (update["isExpirationUpdate"], update["expiresInSeconds"]) == (True, 0)
    assert message == {"sourceName": None, **data_message(again, "this stays")}
    [bob] = contacts_of(service, ALICE)
    assert (bob["name"], bob["message_expiration"]) == ("Bobby", "0")


def test_an_outside_user_sets_the_chat_timer_with_sandbox_act(accounts: RunningService) -> None:
    service = accounts
    act = {
        "from": CAROL,
        "method": "updateContact",
        "params": {"recipient": ALICE, "expiration": 60},
    }
    response = service.client.post("/v1/sandbox/act", json=act)
    assert (response.status_code, response.json()) == (200, {})
    [update] = data_of(service, ALICE, 1)
    assert update == {
        "sourceName": None,
        **data_message(update["timestamp"], None, expiresInSeconds=60, isExpirationUpdate=True),
    }
    ts = send(service, ALICE, CAROL, "gone in a minute")
    received = service.client.get(f"/v1/sandbox/received/{CAROL}").json()
    [message] = [m["envelope"]["dataMessage"] for m in received if "dataMessage" in m["envelope"]]
    assert message == data_message(ts, "gone in a minute", expiresInSeconds=60)
    assert contacts_of(service, ALICE) == [entry(service, CAROL, message_expiration="60")]


def test_a_blocked_contact_is_listed_as_blocked(accounts: RunningService) -> None:
    service = accounts
    send(service, ALICE, CAROL, "hello")
    service.run(service.backend.rpc.call("block", {"recipient": [BOB], "account": ALICE}))
    assert contacts_of(service, ALICE) == [
        entry(service, CAROL),
        entry(service, BOB, blocked=True),
    ]


def test_one_contact_is_found_by_uuid_or_404(accounts: RunningService) -> None:
    service = accounts
    send(service, ALICE, CAROL, "hello")
    carol = uuid_of(service, CAROL)
    response = service.client.get(f"/v1/contacts/{ALICE}/{carol}")
    assert (response.status_code, response.json()) == (200, entry(service, CAROL))
    bob = uuid_of(service, BOB)  # known to the network, but no contact of Alice's
    response = service.client.get(f"/v1/contacts/{ALICE}/{bob}")
    assert (response.status_code, response.json()) == (
        404,
        {"error": f"No user with that id ({bob}) found"},
    )
    nobody = "3f2c1f0e-0000-4000-8000-000000000000"
    response = service.client.get(f"/v1/contacts/{ALICE}/{nobody}?all_recipients=true")
    assert (response.status_code, response.json()) == (
        404,
        {"error": f"No user with that id ({nobody}) found"},
    )


def test_sync_sends_the_contacts_to_the_linked_phone(service: RunningService) -> None:
    link_phone(service.client, CAROL)
    response = service.client.post(f"/v1/contacts/{CAROL}/sync")
    assert (response.status_code, response.content) == (204, b""), response.text
    received = service.client.get(f"/v1/sandbox/received/{CAROL}").json()
    [message] = [m for m in received if "syncMessage" in m["envelope"]]
    got = message["envelope"]
    assert message == {
        "envelope": {
            "source": CAROL,
            "sourceNumber": CAROL,
            "sourceUuid": uuid_of(service, CAROL),
            "sourceName": None,
            "sourceDevice": 2,
            "timestamp": got["timestamp"],
            "serverReceivedTimestamp": got["serverReceivedTimestamp"],
            "serverDeliveredTimestamp": got["serverDeliveredTimestamp"],
            "syncMessage": {"type": "CONTACTS_SYNC"},
        },
        "account": CAROL,
    }


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"name": "Bob"}', "Couldn't process request - recipient missing"),
        (b'{"recipient": ""}', "Couldn't process request - recipient missing"),
        (
            b'{"recipient": "+4915100000002", "expiration_in_seconds": -1}',
            "Couldn't process request - expiration_in_seconds must be between 0 and 2147483647",
        ),
        (
            b'{"recipient": "+4915100000002", "expiration_in_seconds": 2147483648}',
            "Couldn't process request - expiration_in_seconds must be between 0 and 2147483647",
        ),
        (
            b'{"recipient": "+4915100000002", "expiration_in_seconds": "60"}',
            "Couldn't process request - expiration_in_seconds must be a 64-bit integer, "
            'got the string "60"',
        ),
        (b"[]", "Couldn't process request - the body must be a JSON object, got a list"),
        (
            b'{"recipient": "nobody"}',
            "Invalid phone number 'nobody': The string supplied did not seem to be a phone number.",
        ),
    ],
    ids=[
        "no-recipient",
        "empty-recipient",
        "negative",
        "too-long",
        "string-timer",
        "array",
        "junk",
    ],
)
def test_contact_update_rejects_bad_bodies(
    accounts: RunningService, body: bytes, error: str
) -> None:
    response = accounts.client.put(f"/v1/contacts/{ALICE}", content=body)
    assert (response.status_code, response.json()) == (400, {"error": error})


@pytest.mark.parametrize("path", ["", "/3f2c1f0e-0000-4000-8000-000000000000"], ids=["list", "one"])
def test_all_recipients_must_be_true_or_false(accounts: RunningService, path: str) -> None:
    response = accounts.client.get(f"/v1/contacts/{ALICE}{path}?all_recipients=yes")
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Couldn't process request - all_recipients parameter needs to be either "
            "'true' or 'false'"
        },
    )
