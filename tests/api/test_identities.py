"""Identities and trust end to end, over real HTTP, on the sandbox: a contact reinstalls Signal,
sends to them fail as signal-cli reports it, and trusting their new key lets them through."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support.flows import ALICE, BOB, receive_until
from tests.support.service import RunningService
from tests.support.shapes import UUID, data_message, not_an_account

CAROL = "+4915100000003"  # an outside Signal user
DAVE = "+4915100000004"  # another outside user

FINGERPRINT = re.compile(r"^05( [0-9a-f]{2}){32}$")
SAFETY_NUMBER = re.compile(r"^[0-9]{5}( [0-9]{5}){11}$")
UNTRUSTED_SEND = "Unable to complete request due to untrusted recipient keys"
WRONG_NUMBER = (
    "Failed to set the trust for this number, make sure the number and the "
    "fingerprint/safety number are correct."
)


def identities(client: httpx.Client, number: str = ALICE) -> dict[str, dict[str, Any]]:
    response = client.get(f"/v1/identities/{number}")
    assert response.status_code == 200, response.text
    return {entry["number"]: entry for entry in response.json()}


def identity(got: dict[str, Any], number: str, status: str) -> dict[str, Any]:
    """The whole entry, with what only the network knows checked by shape."""
    assert FINGERPRINT.match(got["fingerprint"]), got
    assert SAFETY_NUMBER.match(got["safety_number"]), got
    assert UUID.match(got["uuid"]), got
    assert got["added"].isdigit(), got
    return {
        "number": number,
        "status": status,
        "fingerprint": got["fingerprint"],
        "added": got["added"],
        "safety_number": got["safety_number"],
        "uuid": got["uuid"],
    }


def send(client: httpx.Client, *recipients: str, text: str = "hi") -> httpx.Response:
    return client.post(
        "/v2/send", json={"number": ALICE, "recipients": list(recipients), "message": text}
    )


def reinstall(client: httpx.Client, number: str) -> str:
    response = client.post(f"/v1/sandbox/reinstall/{number}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"number": number, "fingerprint": body["fingerprint"]}
    return str(body["fingerprint"])


def texts_to(service: RunningService, number: str) -> list[str | None]:
    response = service.client.get(f"/v1/sandbox/received/{number}")
    assert response.status_code == 200, response.text
    return [
        m["envelope"]["dataMessage"]["message"]
        for m in response.json()
        if "dataMessage" in m["envelope"]
    ]


def trust(client: httpx.Client, number: str, body: dict[str, Any]) -> httpx.Response:
    return client.put(f"/v1/identities/{ALICE}/trust/{number}", json=body)


def test_identities_list_the_own_key_and_every_contact_seen(accounts: RunningService) -> None:
    client = accounts.client
    assert send(client, CAROL).status_code == 201
    assert send(client, BOB).status_code == 201

    response = client.get(f"/v1/identities/{ALICE}")

    assert response.status_code == 200, response.text
    got = response.json()
    assert got == [
        identity(got[0], ALICE, "TRUSTED_VERIFIED"),
        identity(got[1], CAROL, "TRUSTED_UNVERIFIED"),
        identity(got[2], BOB, "TRUSTED_UNVERIFIED"),
    ]
    assert len({entry["fingerprint"] for entry in got}) == 3
    # Stable, and the same safety number on both sides of a conversation.
    assert client.get(f"/v1/identities/{ALICE}").json() == got
    bobs = identities(client, BOB)
    assert bobs[ALICE]["safety_number"] == got[2]["safety_number"]
    assert bobs[ALICE]["fingerprint"] == got[0]["fingerprint"]


def test_send_to_a_reinstalled_contact_fails_until_its_safety_number_is_trusted(
    accounts: RunningService,
) -> None:
    client = accounts.client
    assert send(client, CAROL, text="before").status_code == 201
    old = identities(client)[CAROL]
    new_fingerprint = reinstall(client, CAROL)

    refused = send(client, CAROL, text="refused")
    assert refused.status_code == 400
    assert refused.json() == {"error": f"{UNTRUSTED_SEND} ({CAROL}: IDENTITY_FAILURE)"}
    changed = identities(client)[CAROL]
    assert changed == identity(changed, CAROL, "UNTRUSTED")
    assert changed["fingerprint"] == new_fingerprint != old["fingerprint"]
    assert changed["safety_number"] != old["safety_number"]

    wrong = trust(client, CAROL, {"verified_safety_number": old["safety_number"]})
    assert (wrong.status_code, wrong.json()) == (400, {"error": WRONG_NUMBER})
    assert identities(client)[CAROL]["status"] == "UNTRUSTED"

    right = trust(client, CAROL, {"verified_safety_number": changed["safety_number"]})
    assert (right.status_code, right.content) == (204, b"")
    assert identities(client)[CAROL] == {**changed, "status": "TRUSTED_VERIFIED"}
    after = send(client, CAROL, text="after")
    assert after.status_code == 201, after.text
    assert texts_to(accounts, CAROL) == ["before", "after"]


def test_send_to_a_reinstalled_contact_and_another_reports_the_identity_failure(
    accounts: RunningService,
) -> None:
    client = accounts.client
    assert send(client, CAROL).status_code == 201
    reinstall(client, CAROL)
    carol_uuid = identities(client)[CAROL]["uuid"]

    response = send(client, CAROL, BOB)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body == [
        {
            "timestamp": body[0]["timestamp"],
            "errors": {
                "recipients": [{"number": CAROL, "uuid": carol_uuid, "reason": "IDENTITY_FAILURE"}]
            },
        }
    ]
    assert receive_until(client, BOB, 1)[0]["envelope"]["dataMessage"]["message"] == "hi"


def test_message_from_a_reinstalled_contact_arrives_as_an_untrusted_identity(
    accounts: RunningService,
) -> None:
    client = accounts.client
    assert send(client, CAROL).status_code == 201
    reinstall(client, CAROL)
    sent = client.post(
        "/v1/sandbox/send", json={"from": CAROL, "recipients": [ALICE], "message": "new phone"}
    )
    assert sent.status_code == 201, sent.text

    messages = _until_exception(client)

    got = messages[0]
    envelope = got["envelope"]
    assert got == {
        "account": ALICE,
        "exception": {
            "message": f"Untrusted identity: {envelope['sourceUuid']}",
            "type": "UntrustedIdentityException",
        },
        "envelope": {
            "source": CAROL,
            "sourceNumber": CAROL,
            "sourceUuid": identities(client)[CAROL]["uuid"],
            "sourceName": None,
            "sourceDevice": 1,
            "timestamp": int(sent.json()["timestamp"]),
            "serverReceivedTimestamp": envelope["serverReceivedTimestamp"],
            "serverDeliveredTimestamp": envelope["serverDeliveredTimestamp"],
        },
    }
    assert identities(client)[CAROL]["status"] == "UNTRUSTED"


def _until_exception(client: httpx.Client) -> list[dict[str, Any]]:
    for _ in range(10):
        response = client.get(f"/v1/receive/{ALICE}", params={"timeout": "1"})
        assert response.status_code == 200, response.text
        found = [m for m in response.json() if "exception" in m]
        if found:
            return found
    raise AssertionError("no message with an exception arrived")


def test_trust_all_known_keys_lets_sends_through_unverified(accounts: RunningService) -> None:
    client = accounts.client
    assert send(client, CAROL).status_code == 201
    reinstall(client, CAROL)
    assert send(client, CAROL).status_code == 400

    response = trust(client, CAROL, {"trust_all_known_keys": True})

    assert (response.status_code, response.content) == (204, b"")
    assert identities(client)[CAROL]["status"] == "TRUSTED_UNVERIFIED"
    assert send(client, CAROL, text="through").status_code == 201
    assert texts_to(accounts, CAROL) == ["hi", "through"]


def test_trust_takes_the_hex_fingerprint_too(accounts: RunningService) -> None:
    client = accounts.client
    assert send(client, CAROL).status_code == 201
    fingerprint = reinstall(client, CAROL)
    assert send(client, CAROL).status_code == 400

    response = trust(client, CAROL, {"verified_safety_number": fingerprint.replace(" ", "")})

    assert response.status_code == 204, response.text
    assert identities(client)[CAROL]["status"] == "TRUSTED_VERIFIED"


def test_messages_from_a_trusted_new_key_arrive_again(accounts: RunningService) -> None:
    client = accounts.client
    assert send(client, CAROL).status_code == 201
    reinstall(client, CAROL)
    assert send(client, CAROL).status_code == 400  # ALICE now knows the new key, untrusted
    assert trust(client, CAROL, {"trust_all_known_keys": True}).status_code == 204

    sent = client.post(
        "/v1/sandbox/send", json={"from": CAROL, "recipients": [ALICE], "message": "hello"}
    )

    assert sent.status_code == 201, sent.text
    got = receive_until(client, ALICE, 1)[0]["envelope"]["dataMessage"]
    assert got == data_message(int(sent.json()["timestamp"]), "hello")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {},
            "Couldn't process request - please either provide a safety number (preferred & "
            "more secure) or set 'trust_all_known_keys' to true",
        ),
        (
            {"trust_all_known_keys": False},
            "Couldn't process request - please either provide a safety number (preferred & "
            "more secure) or set 'trust_all_known_keys' to true",
        ),
        (
            {"verified_safety_number": "1" * 60, "trust_all_known_keys": True},
            "Couldn't process request - please either provide a safety number or set "
            "'trust_all_known_keys' to true. But do not set both parameters at once!",
        ),
        (
            {"verified_safety_number": ""},
            "Couldn't process request - please provide a valid safety number",
        ),
        (
            {"trust_all_known_keys": "yes"},
            "Couldn't process request - trust_all_known_keys must be true or false, "
            'got the string "yes"',
        ),
        (
            {"verified_safety_number": 5},
            "Couldn't process request - verified_safety_number must be a string, got 5",
        ),
        (
            {"verified_safety_number": "not a number!"},
            "Safety number has invalid format, either specify the old hex fingerprint or the new "
            "safety number",
        ),
    ],
    ids=[
        "nothing",
        "all_keys_false",
        "both",
        "empty_safety_number",
        "all_keys_not_bool",
        "safety_number_not_string",
        "safety_number_malformed",
    ],
)
def test_trust_refuses_bad_bodies(accounts: RunningService, body: Any, error: str) -> None:
    response = trust(accounts.client, CAROL, body)

    assert (response.status_code, response.json()) == (400, {"error": error})


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", "the body is empty: this route needs a JSON object"),
        (
            b"{",
            "invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes",
        ),
        (b"[]", "the body must be a JSON object, got a list"),
    ],
    ids=["empty", "broken", "array"],
)
def test_trust_refuses_a_body_that_is_no_object(
    accounts: RunningService, raw: bytes, error: str
) -> None:
    response = accounts.client.put(f"/v1/identities/{ALICE}/trust/{CAROL}", content=raw)

    assert (response.status_code, response.json()) == (
        400,
        {"error": f"Couldn't process request - {error}"},
    )


def test_trust_of_a_contact_never_seen_names_the_number(accounts: RunningService) -> None:
    response = trust(accounts.client, DAVE, {"trust_all_known_keys": True})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Failed to set the trust for this number, make sure the number is correct."
    }


def test_identities_of_an_unknown_account_are_refused(accounts: RunningService) -> None:
    unknown = "+4915100000099"
    listed = accounts.client.get(f"/v1/identities/{unknown}")
    trusted = accounts.client.put(
        f"/v1/identities/{unknown}/trust/{CAROL}", json={"trust_all_known_keys": True}
    )

    for response in (listed, trusted):
        assert (response.status_code, response.json()) == not_an_account(unknown)
