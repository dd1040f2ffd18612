"""What the Go project's query parameters and lenient bodies do to sending and receiving."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.flows import ALICE, BOB, receive_until, register
from tests.support.service import RunningService, start_service


def _receipts_until(
    client: Any, number: str, arrived: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Poll `number` until a receipt for which `arrived` holds is there; every receipt polled
    meanwhile, in order. Receipts travel on their own, after the poll that caused them."""
    receipts: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not any(arrived(r) for r in receipts):
        assert time.monotonic() < deadline, f"no such receipt among {receipts}"
        messages = client.get(f"/v1/receive/{number}", params={"timeout": "1"}).json()
        receipts += [
            m["envelope"]["receiptMessage"] for m in messages if "receiptMessage" in m["envelope"]
        ]
    return receipts


def test_send_treats_explicit_nulls_as_absent(accounts: RunningService) -> None:
    response = accounts.client.post(
        "/v2/send",
        json={
            "number": ALICE,
            "recipients": [BOB],
            "message": "nulls",
            "quote_timestamp": None,
            "mentions": None,
            "link_preview": None,
            "notify_self": None,
            "base64_attachments": [],
            "view_once": False,
            "Text_Mode": "normal",
            "unknown_key": {"ignored": True},
        },
    )
    assert response.status_code == 201, response.text
    [received] = receive_until(accounts.client, BOB, 1)
    assert received["envelope"]["dataMessage"]["message"] == "nulls"


def test_send_styled_text_becomes_plain_text_with_styles(accounts: RunningService) -> None:
    response = accounts.client.post(
        "/v2/send",
        json={
            "number": ALICE,
            "recipients": [BOB],
            "message": "This is **bold** and *italic*",
            "text_mode": "styled",
        },
    )
    assert response.status_code == 201, response.text
    [received] = receive_until(accounts.client, BOB, 1)
    data = received["envelope"]["dataMessage"]
    assert data["message"] == "This is bold and italic"
    assert data["textStyles"] == [
        {"style": "BOLD", "start": 8, "length": 4},
        {"style": "ITALIC", "start": 17, "length": 6},
    ]


def test_receive_with_send_read_receipts_tells_the_sender(accounts: RunningService) -> None:
    first = accounts.client.post(
        "/v2/send", json={"number": ALICE, "recipients": [BOB], "message": "read me"}
    )
    first_ts = int(first.json()[0]["timestamp"])
    receive_until(accounts.client, BOB, 1)  # taken without a read receipt
    receipts = _receipts_until(
        accounts.client, ALICE, lambda r: r["isDelivery"] and r["timestamps"] == [first_ts]
    )
    assert all(not r["isRead"] for r in receipts)

    again = accounts.client.post(
        "/v2/send", json={"number": ALICE, "recipients": [BOB], "message": "and me"}
    )
    ts = int(again.json()[0]["timestamp"])
    response = accounts.client.get(
        f"/v1/receive/{BOB}", params={"timeout": "5", "send_read_receipts": "true"}
    )
    assert [m["envelope"]["timestamp"] for m in response.json()] == [ts]
    # The read receipt goes out once the response was delivered: wait for it, not for a time.
    receipts = _receipts_until(accounts.client, ALICE, lambda r: r["isRead"])
    read = [r for r in receipts if r["isRead"]]
    assert [(r["timestamps"], r["isDelivery"], r["isViewed"]) for r in read] == [
        ([ts], False, False)
    ]


def test_receive_with_ignore_stories_skips_story_messages(service: RunningService) -> None:
    register(service.client, BOB)
    envelope = {
        "source": ALICE,
        "sourceNumber": ALICE,
        "sourceUuid": "5b9a5ab0-52a4-4f3c-9d4e-2a3f4c1d7e01",
        "sourceName": None,
        "sourceDevice": 1,
        "timestamp": 1752436800000,
        "serverReceivedTimestamp": 1752436800412,
        "serverDeliveredTimestamp": 1752436800903,
    }
    story = {"envelope": {**envelope, "storyMessage": {"allowsReplies": True}}, "account": BOB}
    text = {
        "envelope": {
            **envelope,
            "timestamp": 1752436800001,
            "dataMessage": {
                "timestamp": 1752436800001,
                "message": "not a story",
                "expiresInSeconds": 0,
                "isExpirationUpdate": False,
                "viewOnce": False,
            },
        },
        "account": BOB,
    }
    # As if the daemon had pushed these two notifications.
    for message in (story, text):
        service.run(service.backend.inbox.on_notification("receive", message))
    response = service.client.get(f"/v1/receive/{BOB}", params={"ignore_stories": "true"})
    assert response.json() == [text]


def test_send_uses_the_configured_default_text_mode(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data", default_signal_text_mode="styled")
    try:
        register(service.client, ALICE)
        register(service.client, BOB)
        for body in ({}, {"text_mode": "normal"}):
            response = service.client.post(
                "/v2/send",
                json={"number": ALICE, "recipients": [BOB], "message": "a ~b~", **body},
            )
            assert response.status_code == 201, response.text
        styled, plain = receive_until(service.client, BOB, 2)
        assert styled["envelope"]["dataMessage"]["message"] == "a b"
        assert styled["envelope"]["dataMessage"]["textStyles"] == [
            {"style": "STRIKETHROUGH", "start": 2, "length": 1}
        ]
        assert plain["envelope"]["dataMessage"]["message"] == "a ~b~"
        assert "textStyles" not in plain["envelope"]["dataMessage"]
    finally:
        service.stop()
