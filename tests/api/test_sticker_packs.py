"""`/v1/sticker-packs/{number}` on the sandbox: install, list, send and receive stickers."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support.flows import ALICE, receive_until
from tests.support.service import RunningService

CAROL = "+4915100000003"  # an outside Signal user
WEBP = b"RIFF\x0c\x00\x00\x00WEBPVP8 sticker"


def _create_pack(service: RunningService, creator: str = CAROL) -> dict[str, Any]:
    response = service.client.post(
        "/v1/sandbox/sticker-packs",
        json={
            "from": creator,
            "title": "Cats",
            "author": "Carol",
            "stickers": [
                {"emoji": "🐱", "data": base64.b64encode(WEBP).decode()},
                {"emoji": "😺", "data": base64.b64encode(WEBP).decode()},
            ],
        },
    )
    assert response.status_code == 201, response.text
    pack = response.json()
    assert pack == {
        "pack_id": pack["pack_id"],
        "pack_key": pack["pack_key"],
        "url": f"https://signal.art/addstickers/#pack_id={pack['pack_id']}"
        f"&pack_key={pack['pack_key']}",
    }
    return dict(pack)


def test_add_list_and_send_a_sticker_to_an_outside_user(accounts: RunningService) -> None:
    client = accounts.client
    assert client.get(f"/v1/sticker-packs/{ALICE}").json() == []
    pack = _create_pack(accounts)
    added = client.post(
        f"/v1/sticker-packs/{ALICE}",
        json={"pack_id": pack["pack_id"], "pack_key": pack["pack_key"]},
    )
    assert (added.status_code, added.content) == (201, b"")
    listed = client.get(f"/v1/sticker-packs/{ALICE}")
    assert listed.status_code == 200
    assert listed.json() == [
        {
            "pack_id": pack["pack_id"],
            "url": pack["url"],
            "installed": True,
            "title": "Cats",
            "author": "Carol",
        }
    ]
    sent = client.post(
        "/v2/send",
        json={"number": ALICE, "recipients": [CAROL], "sticker": f"{pack['pack_id']}:1"},
    )
    assert sent.status_code == 201, sent.text
    timestamp = int(sent.json()[0]["timestamp"])
    [received] = client.get(f"/v1/sandbox/received/{CAROL}").json()
    envelope = received["envelope"]
    assert received == {
        "account": CAROL,
        "envelope": {
            "source": ALICE,
            "sourceNumber": ALICE,
            "sourceUuid": envelope["sourceUuid"],
            "sourceName": None,
            "sourceDevice": 1,
            "timestamp": timestamp,
            "serverReceivedTimestamp": envelope["serverReceivedTimestamp"],
            "serverDeliveredTimestamp": envelope["serverDeliveredTimestamp"],
            "dataMessage": {
                "timestamp": timestamp,
                "message": None,
                "expiresInSeconds": 0,
                "isExpirationUpdate": False,
                "viewOnce": False,
                "sticker": {"packId": pack["pack_id"], "stickerId": 1},
            },
        },
    }


def test_an_account_receives_an_outside_users_sticker(accounts: RunningService) -> None:
    pack = _create_pack(accounts)
    response = accounts.client.post(
        "/v1/sandbox/act",
        json={
            "from": CAROL,
            "method": "send",
            "params": {"recipient": [ALICE], "sticker": f"{pack['pack_id']}:0"},
        },
    )
    assert response.status_code == 200, response.text
    [message] = receive_until(accounts.client, ALICE, 1)
    assert message["envelope"]["sourceNumber"] == CAROL
    assert message["envelope"]["dataMessage"] == {
        "timestamp": response.json()["timestamp"],
        "message": None,
        "expiresInSeconds": 0,
        "isExpirationUpdate": False,
        "viewOnce": False,
        "sticker": {"packId": pack["pack_id"], "stickerId": 0},
    }
    # Receiving made the pack known, not installed, as with signal-cli.
    [listed] = accounts.client.get(f"/v1/sticker-packs/{ALICE}").json()
    assert (listed["pack_id"], listed["installed"]) == (pack["pack_id"], False)


def test_sending_a_sticker_of_an_unknown_pack_says_so(accounts: RunningService) -> None:
    pack = _create_pack(accounts)
    response = accounts.client.post(
        "/v2/send",
        json={"number": ALICE, "recipients": [CAROL], "sticker": f"{pack['pack_id']}:0"},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Failed to send sticker: Sticker pack not found"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"pack_key": "00"}, "Couldn't process request - pack_id missing"),
        ({"pack_id": "00"}, "Couldn't process request - pack_key missing"),
        (
            {"pack_id": "xyz", "pack_key": "00"},
            "Couldn't process request - pack_id must be hexadecimal, as in the signal.art link",
        ),
        (
            {"pack_id": "00", "pack_key": "0&x=1"},
            "Couldn't process request - pack_key must be hexadecimal, as in the signal.art link",
        ),
        (
            {"pack_id": 5, "pack_key": "00"},
            "Couldn't process request - pack_id must be a string, got 5",
        ),
        ({"pack_id": "00ab", "pack_key": "00ab"}, "Install sticker pack failed"),
    ],
    ids=["no_id", "no_key", "id_not_hex", "key_not_hex", "id_not_string", "unknown_pack"],
)
def test_add_sticker_pack_refuses_bad_bodies(
    accounts: RunningService, body: dict[str, Any], error: str
) -> None:
    response = accounts.client.post(f"/v1/sticker-packs/{ALICE}", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert accounts.client.get(f"/v1/sticker-packs/{ALICE}").json() == []


def test_sandbox_sticker_pack_upload_validates(accounts: RunningService) -> None:
    response = accounts.client.post(
        "/v1/sandbox/sticker-packs", json={"from": CAROL, "title": "T", "stickers": []}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "stickers must be a list of 1 to 200 stickers"}
    response = accounts.client.post("/v1/sandbox/sticker-packs", json={"title": "T"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Couldn't process request - please provide the uploader in 'from'"
    }
