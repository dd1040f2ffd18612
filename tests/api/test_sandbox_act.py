"""`POST /v1/sandbox/act`: outside users do to accounts what accounts can do to them."""

from __future__ import annotations

import time
from typing import Any

from tests.support.flows import ALICE
from tests.support.service import RunningService

CAROL = "+4915100000003"  # an outside Signal user


def _receive_one(service: RunningService, key: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = service.client.get(f"/v1/receive/{ALICE}", params={"timeout": "1"})
        assert response.status_code == 200, response.text
        for message in response.json():
            if key in message["envelope"]:
                return dict(message)
    raise AssertionError(f"no {key} arrived")


def test_an_outside_user_reacts_to_an_accounts_message(accounts: RunningService) -> None:
    sent = accounts.client.post(
        "/v2/send", json={"number": ALICE, "recipients": [CAROL], "message": "Hi"}
    )
    target = int(sent.json()[0]["timestamp"])
    response = accounts.client.post(
        "/v1/sandbox/act",
        json={
            "from": CAROL,
            "method": "sendReaction",
            "params": {
                "recipient": [ALICE],
                "emoji": "🎉",
                "targetAuthor": ALICE,
                "targetTimestamp": target,
            },
        },
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["results"][0]["type"] == "SUCCESS"
    message = _receive_one(accounts, "dataMessage")
    data = message["envelope"]["dataMessage"]
    assert message["envelope"]["sourceNumber"] == CAROL
    assert data == {
        "timestamp": result["timestamp"],
        "message": None,
        "expiresInSeconds": 0,
        "isExpirationUpdate": False,
        "viewOnce": False,
        "reaction": {
            "emoji": "🎉",
            "targetAuthor": ALICE,
            "targetAuthorNumber": ALICE,
            "targetAuthorUuid": data["reaction"]["targetAuthorUuid"],
            "targetSentTimestamp": target,
            "isRemove": False,
        },
    }


def test_only_send_like_methods_can_be_acted(accounts: RunningService) -> None:
    response = accounts.client.post(
        "/v1/sandbox/act", json={"from": CAROL, "method": "listGroups", "params": {}}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "method must be one of: send, sendReaction, sendTyping, sendReceipt, "
        "remoteDelete, sendPollCreate, sendPollVote, sendPollTerminate, sendPinMessage, "
        "sendUnpinMessage, updateContact"
    }
    response = accounts.client.post("/v1/sandbox/act", json={"from": CAROL})
    assert response.status_code == 400
    assert response.json() == {"error": "Couldn't process request - 'from' and 'method' are needed"}
