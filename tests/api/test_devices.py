"""An account's devices over HTTP on the sandbox: listing, linking a new device by its URI,
removing it (it stops receiving), and the refusals of each rule."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.support.flows import ALICE, BOB, register
from tests.support.service import RunningService
from tests.support.shapes import not_an_account

DAY_MS = 24 * 60 * 60 * 1000
UNKNOWN = "+4915100000009"  # a number that is no account of the service


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def midnight(ms: int) -> int:
    return ms - ms % DAY_MS


def new_device(client: httpx.Client, name: str) -> str:
    response = client.post("/v1/sandbox/devices", json={"name": name})
    assert response.status_code == 201, response.text
    uri: str = response.json()["device_link_uri"]
    assert response.json() == {"device_link_uri": uri}
    assert uri.startswith("sgnl://linkdevice?uuid=")
    return uri


def link(client: httpx.Client, number: str, name: str) -> None:
    response = client.post(f"/v1/devices/{number}", json={"uri": new_device(client, name)})
    assert response.status_code == 204, response.text
    assert response.content == b""


def device_inbox(client: httpx.Client, number: str, device: int) -> list[dict[str, Any]]:
    """What a linked device outside the service received, receipts left out."""
    response = client.get(f"/v1/sandbox/received/{number}", params={"device": device})
    assert response.status_code == 200, response.text
    return [m for m in response.json() if "receiptMessage" not in m["envelope"]]


def send(client: httpx.Client, sender: str, recipient: str, text: str) -> int:
    response = client.post(
        "/v2/send", json={"number": sender, "recipients": [recipient], "message": text}
    )
    assert response.status_code == 201, response.text
    return int(response.json()[0]["timestamp"])


def envelope(got: dict[str, Any], source: str, **content: Any) -> dict[str, Any]:
    """The whole envelope `got` must be: from `source`'s phone, with `content`."""
    assert got["serverDeliveredTimestamp"] >= got["serverReceivedTimestamp"] >= got["timestamp"]
    return {
        "source": source,
        "sourceNumber": source,
        "sourceUuid": got["sourceUuid"],
        "sourceName": None,
        "sourceDevice": 1,
        "timestamp": got["timestamp"],
        "serverReceivedTimestamp": got["serverReceivedTimestamp"],
        "serverDeliveredTimestamp": got["serverDeliveredTimestamp"],
        **content,
    }


def text(timestamp: int, body: str) -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "message": body,
        "expiresInSeconds": 0,
        "isExpirationUpdate": False,
        "viewOnce": False,
    }


def test_list_devices_shows_the_primary_device(service: RunningService) -> None:
    before = now_ms()
    register(service.client, ALICE)
    after = now_ms()
    response = service.client.get(f"/v1/devices/{ALICE}")
    assert response.status_code == 200, response.text
    [device] = response.json()
    assert before <= device["creation_timestamp"] <= after
    # Signal's server tells the day a device was last seen, not the moment.
    assert device["last_seen_timestamp"] in (midnight(before), midnight(now_ms()))
    assert response.json() == [
        {
            "id": 1,
            "name": "",
            "last_seen_timestamp": device["last_seen_timestamp"],
            "creation_timestamp": device["creation_timestamp"],
        }
    ]


def test_a_device_linked_by_its_uri_is_listed_and_receives(accounts: RunningService) -> None:
    client = accounts.client
    before = now_ms()
    link(client, ALICE, "Desktop")
    after = now_ms()
    response = client.get(f"/v1/devices/{ALICE}")
    assert response.status_code == 200, response.text
    phone, desktop = response.json()
    assert before <= desktop["creation_timestamp"] <= after
    assert response.json() == [
        phone,
        {
            "id": 2,
            "name": "Desktop",
            "last_seen_timestamp": phone["last_seen_timestamp"],
            "creation_timestamp": desktop["creation_timestamp"],
        },
    ]
    # What others send to the account reaches the new device; what the account sends reaches
    # it as a sync transcript.
    hello = send(client, BOB, ALICE, "hello")
    reply = send(client, ALICE, BOB, "hi bob")
    got = device_inbox(client, ALICE, 2)
    assert [m["account"] for m in got] == [ALICE, ALICE]
    first, second = (m["envelope"] for m in got)
    assert first == envelope(first, BOB, dataMessage=text(hello, "hello"))
    bob_uuid = first["sourceUuid"]
    assert second == envelope(
        second,
        ALICE,
        syncMessage={
            "sentMessage": {
                "destination": BOB,
                "destinationNumber": BOB,
                "destinationUuid": bob_uuid,
                **text(reply, "hi bob"),
            }
        },
    )


def test_a_removed_device_stops_receiving(accounts: RunningService) -> None:
    client = accounts.client
    link(client, ALICE, "Desktop")
    first = send(client, BOB, ALICE, "before")
    response = client.delete(f"/v1/devices/{ALICE}/2")
    assert response.status_code == 204, response.text
    assert response.content == b""
    [phone] = client.get(f"/v1/devices/{ALICE}").json()
    assert phone["id"] == 1
    send(client, BOB, ALICE, "after")
    send(client, ALICE, BOB, "mine")
    [kept] = device_inbox(client, ALICE, 2)
    assert kept["envelope"] == envelope(kept["envelope"], BOB, dataMessage=text(first, "before"))


def test_each_new_device_link_is_used_once(accounts: RunningService) -> None:
    uri = new_device(accounts.client, "Tablet")
    assert accounts.client.post(f"/v1/devices/{ALICE}", json={"uri": uri}).status_code == 204
    again = accounts.client.post(f"/v1/devices/{BOB}", json={"uri": uri})
    assert (again.status_code, again.json()) == (400, {"error": "Add device link failed"})
    assert [d["id"] for d in accounts.client.get(f"/v1/devices/{BOB}").json()] == [1]


LINK_REFUSALS = [
    pytest.param({}, "Couldn't process request - uri missing", id="no-uri"),
    pytest.param(
        {"uri": 5}, "Couldn't process request - uri must be a string, got 5", id="uri-not-text"
    ),
    pytest.param({"uri": "sgnl://linkdevice?uuid=abc"}, "Invalid device link", id="no-public-key"),
    pytest.param(
        {"uri": "sgnl://linkdevice?uuid=abc&pub_key=BQ"}, "Invalid device link", id="short-key"
    ),
    pytest.param(
        {"uri": "sgnl://linkdevice"}, "Invalid device link uri (RuntimeException)", id="no-query"
    ),
    pytest.param(
        {"uri": "a b"},
        "Device link uri has invalid format: Illegal character in path at index 1: a b",
        id="not-a-uri",
    ),
    pytest.param(
        {"uri": "sgnl://linkdevice?uuid=abc&pub_key=BQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
        "Add device link failed",
        id="no-such-new-device",
    ),
]


@pytest.mark.parametrize(("body", "error"), LINK_REFUSALS)
def test_linking_refuses_a_bad_uri(accounts: RunningService, body: Any, error: str) -> None:
    response = accounts.client.post(f"/v1/devices/{ALICE}", json=body)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert len(accounts.client.get(f"/v1/devices/{ALICE}").json()) == 1


def test_linking_refuses_a_body_that_is_not_json(accounts: RunningService) -> None:
    response = accounts.client.post(f"/v1/devices/{ALICE}", content=b"{")
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Couldn't process request - invalid JSON at line 1, column 2: "
            "Expecting property name enclosed in double quotes"
        },
    )


REMOVE_REFUSALS = [
    pytest.param("x", "deviceId must be numeric", id="not-numeric"),
    pytest.param("2.0", "deviceId must be numeric", id="not-an-integer"),
    pytest.param(
        "1", "Error while removing device: [403] Authorization failed!", id="the-primary-device"
    ),
    pytest.param(
        "99999999999",
        "class java.lang.Long cannot be cast to class java.lang.Integer (java.lang.Long and "
        "java.lang.Integer are in module java.base of loader 'bootstrap') (ClassCastException)",
        id="too-large",
    ),
]


@pytest.mark.parametrize(("device", "error"), REMOVE_REFUSALS)
def test_removing_a_device_refuses(accounts: RunningService, device: str, error: str) -> None:
    response = accounts.client.delete(f"/v1/devices/{ALICE}/{device}")
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_device_routes_refuse_an_unknown_account(accounts: RunningService) -> None:
    client = accounts.client
    for response in (
        client.get(f"/v1/devices/{UNKNOWN}"),
        client.post(f"/v1/devices/{UNKNOWN}", json={"uri": new_device(client, "x")}),
        client.delete(f"/v1/devices/{UNKNOWN}/2"),
    ):
        assert (response.status_code, response.json()) == not_an_account(UNKNOWN)


@pytest.mark.parametrize("number", ["4915100000001", "+49 151", "alice"])
def test_removing_a_device_needs_an_account_number(accounts: RunningService, number: str) -> None:
    # No account has an inexact number: refused before anything is removed.
    response = accounts.client.delete(f"/v1/devices/{number}/2")
    assert (response.status_code, response.json()) == not_an_account(number)


def test_a_new_device_without_a_name_is_listed_with_an_empty_one(
    accounts: RunningService,
) -> None:
    response = accounts.client.post("/v1/sandbox/devices")
    assert response.status_code == 201, response.text
    uri = response.json()["device_link_uri"]
    assert accounts.client.post(f"/v1/devices/{ALICE}", json={"uri": uri}).status_code == 204
    names = [(d["id"], d["name"]) for d in accounts.client.get(f"/v1/devices/{ALICE}").json()]
    assert names == [(1, ""), (2, "")]


INBOX_REFUSALS = [
    pytest.param("0", "Input should be greater than or equal to 1", id="zero"),
    pytest.param("-1", "Input should be greater than or equal to 1", id="negative"),
    pytest.param(
        "x", "Input should be a valid integer, unable to parse string as an integer", id="text"
    ),
    pytest.param("2147483648", "Input should be less than or equal to 2147483647", id="too-big"),
]


@pytest.mark.parametrize(("device", "why"), INBOX_REFUSALS)
def test_a_devices_inbox_needs_a_device_id(accounts: RunningService, device: str, why: str) -> None:
    response = accounts.client.get(f"/v1/sandbox/received/{ALICE}", params={"device": device})
    assert (response.status_code, response.json()) == (
        400,
        {"error": f"Couldn't process request - invalid query.device: {why}"},
    )
