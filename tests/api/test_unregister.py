"""Ending an account over HTTP on the sandbox: unregister (with and without deleting the
account or the local data) and deleting local data, and what others then see."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.flows import ALICE, BOB, receive_until, register
from tests.support.service import RunningService
from tests.support.shapes import not_an_account
from tests.support.waiting import wait_until

CAROL = "+4915100000003"  # an outside Signal user
STILL_REGISTERED = (
    "Not deleting account, it is still registered. Use --ignore-registered to delete it anyway."
)


def accounts_of(client: httpx.Client) -> list[str]:
    response = client.get("/v1/accounts")
    assert response.status_code == 200, response.text
    result: list[str] = response.json()
    return result


def send(client: httpx.Client, sender: str, recipient: str, text: str) -> httpx.Response:
    return client.post(
        "/v2/send", json={"number": sender, "recipients": [recipient], "message": text}
    )


def number_settings(client: httpx.Client, number: str) -> dict[str, Any]:
    response = client.put(f"/v1/sandbox/numbers/{number}", json={})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def unregister(client: httpx.Client, number: str, **body: bool) -> None:
    response = client.post(f"/v1/unregister/{number}", json=body or None)
    assert response.status_code == 204, response.text
    assert response.content == b""


def assert_bob_still_talks(client: httpx.Client) -> None:
    """BOB, the account that stayed, still sends and receives."""
    assert send(client, BOB, CAROL, "still here").status_code == 201
    sent = client.post(
        "/v1/sandbox/send", json={"from": CAROL, "recipients": [BOB], "message": "yes"}
    )
    assert sent.status_code == 201, sent.text
    [message] = receive_until(client, BOB, 1)
    assert message["envelope"]["dataMessage"]["message"] == "yes"


def test_unregister_ends_the_account_and_others_sends_fail(accounts: RunningService) -> None:
    client = accounts.client
    unregister(client, ALICE)
    assert accounts_of(client) == [BOB]
    mine = send(client, ALICE, BOB, "hello?")
    assert (mine.status_code, mine.json()) == not_an_account(ALICE)
    theirs = send(client, BOB, ALICE, "are you there?")
    assert (theirs.status_code, theirs.json()) == (
        400,
        {"error": f"Failed to send message ({ALICE}: UNREGISTERED_FAILURE)"},
    )
    assert number_settings(client, ALICE) == {
        "number": ALICE,
        "registered": False,
        "requires_captcha": False,
        "registration_lock_pin": None,
        "username": None,
        "username_link": None,
    }
    assert_bob_still_talks(client)


def test_unregister_keeps_local_data_until_it_is_deleted(accounts: RunningService) -> None:
    client = accounts.client
    assert send(client, BOB, ALICE, "unread").status_code == 201
    # The service stores it as it comes (a 201 only says BOB's phone sent it).
    store = accounts.backend.inbox.store
    wait_until(lambda: accounts.run(store.pending(ALICE, 1)), "the message in ALICE's inbox")
    unregister(client, ALICE)
    # What arrived before is still there to be read; after the data is deleted it is gone, and
    # the number answers like any number that is no account.
    kept = client.get(f"/v1/receive/{ALICE}", params={"timeout": "5"})
    assert kept.status_code == 200, kept.text
    [message] = kept.json()
    assert message["envelope"]["dataMessage"]["message"] == "unread"
    later = send(client, BOB, ALICE, "later")
    assert (later.status_code, later.json()) == (
        400,
        {"error": f"Failed to send message ({ALICE}: UNREGISTERED_FAILURE)"},
    )
    response = client.request("DELETE", f"/v1/devices/{ALICE}/local-data")
    assert response.status_code == 204, response.text
    gone = client.get(f"/v1/receive/{ALICE}", params={"timeout": "0"})
    assert (gone.status_code, gone.json()) == not_an_account(ALICE)
    assert accounts_of(client) == [BOB]


def test_unregister_with_delete_local_data_forgets_the_inbox(accounts: RunningService) -> None:
    client = accounts.client
    assert send(client, BOB, ALICE, "unread").status_code == 201
    unregister(client, ALICE, delete_local_data=True)
    assert accounts_of(client) == [BOB]
    gone = client.get(f"/v1/receive/{ALICE}", params={"timeout": "0"})
    assert (gone.status_code, gone.json()) == not_an_account(ALICE)
    theirs = send(client, BOB, ALICE, "hello")
    assert (theirs.status_code, theirs.json()) == (
        400,
        {"error": f"Failed to send message ({ALICE}: UNREGISTERED_FAILURE)"},
    )
    assert_bob_still_talks(client)


def test_unregister_with_delete_account_removes_the_signal_account(
    accounts: RunningService,
) -> None:
    client = accounts.client
    client.put(f"/v1/sandbox/numbers/{ALICE}", json={"username": "alice.42"})
    client.put(f"/v1/sandbox/numbers/{BOB}", json={"username": "bob.42"})
    unregister(client, BOB)
    unregister(client, ALICE, delete_account=True)
    # Only the deleted account loses its username; the one just unregistered keeps it.
    assert number_settings(client, ALICE)["username"] is None
    assert number_settings(client, BOB)["username"] == "bob.42"
    assert accounts_of(client) == []


def test_an_unregistered_number_can_register_again(accounts: RunningService) -> None:
    client = accounts.client
    unregister(client, ALICE, delete_local_data=True)
    register(client, ALICE)
    assert accounts_of(client) == [BOB, ALICE]
    assert send(client, BOB, ALICE, "welcome back").status_code == 201
    [message] = receive_until(client, ALICE, 1)
    assert message["envelope"]["dataMessage"]["message"] == "welcome back"


def test_delete_local_data_is_refused_while_registered(accounts: RunningService) -> None:
    client = accounts.client
    for body in (None, {"ignore_registered": False}):
        response = client.request("DELETE", f"/v1/devices/{ALICE}/local-data", json=body)
        assert (response.status_code, response.json()) == (400, {"error": STILL_REGISTERED})
    assert accounts_of(client) == [ALICE, BOB]
    assert send(client, ALICE, BOB, "still mine").status_code == 201


def test_delete_local_data_ignoring_registration_ends_the_account_here(
    accounts: RunningService,
) -> None:
    client = accounts.client
    response = client.request(
        "DELETE", f"/v1/devices/{ALICE}/local-data", json={"ignore_registered": True}
    )
    assert response.status_code == 204, response.text
    assert accounts_of(client) == [BOB]
    mine = send(client, ALICE, BOB, "hello?")
    assert (mine.status_code, mine.json()) == not_an_account(ALICE)
    # Signal still has the account: others' sends to it are accepted.
    assert send(client, BOB, ALICE, "for your phone").status_code == 201
    assert_bob_still_talks(client)


def test_unregister_refuses_an_unknown_account(accounts: RunningService) -> None:
    response = accounts.client.post(f"/v1/unregister/{CAROL}")
    assert (response.status_code, response.json()) == not_an_account(CAROL)
    assert number_settings(accounts.client, CAROL)["registered"] is True


BAD_NUMBERS = [
    pytest.param("4915100000001", id="no-plus"),
    pytest.param("+49151 00000001", id="space"),
    pytest.param("alice", id="name"),
]


@pytest.mark.parametrize("number", BAD_NUMBERS)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/unregister/{}"), ("DELETE", "/v1/devices/{}/local-data")],
    ids=["unregister", "local-data"],
)
def test_dangerous_routes_refuse_an_inexact_number(
    accounts: RunningService, method: str, path: str, number: str
) -> None:
    response = accounts.client.request(method, path.format(number))
    if method == "POST":
        # No account has such a number: refused as any number that is no account.
        assert (response.status_code, response.json()) == not_an_account(number)
    else:  # local data may be left of a number that is no account any more
        assert (response.status_code, response.json()) == (
            400,
            {
                "error": f"Couldn't process request - {number!r} is not a phone number in "
                "E.164 form (e.g. +4915112345678)"
            },
        )
    assert accounts_of(accounts.client) == [ALICE, BOB]


@pytest.mark.parametrize(
    ("method", "path", "flag"),
    [
        ("POST", "/v1/unregister/{}", "delete_account"),
        ("DELETE", "/v1/devices/{}/local-data", "ignore_registered"),
    ],
    ids=["unregister", "local-data"],
)
@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            b"{",
            "invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes",
        ),
        (b"[]", "the body must be a JSON object, got a list"),
        (b'{"FLAG": "yes"}', 'FLAG must be true or false, got the string "yes"'),
    ],
    ids=["broken", "array", "string-for-bool"],
)
def test_dangerous_routes_refuse_a_malformed_body(
    accounts: RunningService, method: str, path: str, flag: str, body: bytes, error: str
) -> None:
    body = body.replace(b"FLAG", flag.encode())
    response = accounts.client.request(method, path.format(ALICE), content=body)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Couldn't process request - " + error.replace("FLAG", flag)},
    )
    assert accounts_of(accounts.client) == [ALICE, BOB]
