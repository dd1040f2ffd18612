"""Steps many end-to-end tests share, done over HTTP like a user would."""

from __future__ import annotations

import time
from typing import Any

import httpx

# The two accounts most end-to-end tests register (the `accounts` fixture).
ALICE = "+4915100000001"
BOB = "+4915100000002"


def register(client: httpx.Client, number: str) -> None:
    """Register and verify `number` as an account of the service, via the sandbox's SMS code."""
    response = client.post(f"/v1/register/{number}")
    assert response.status_code == 201, response.text
    code = client.get(f"/v1/sandbox/verification-code/{number}").json()["code"]
    response = client.post(f"/v1/register/{number}/verify/{code}")
    assert response.status_code == 201, response.text


def is_content(message: dict[str, Any]) -> bool:
    data = message["envelope"].get("dataMessage")
    return data is not None and data.get("groupInfo", {}).get("type") != "UPDATE"


def receive_until(
    client: httpx.Client, number: str, count: int, *, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Poll /v1/receive until `count` data messages have arrived; receipts and group updates
    are skipped."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/v1/receive/{number}", params={"timeout": "1"})
        assert response.status_code == 200, response.text
        messages += [m for m in response.json() if is_content(m)]
        if len(messages) >= count:
            return messages
    raise AssertionError(f"only {len(messages)} of {count} messages arrived: {messages}")


def link_phone(client: httpx.Client, number: str) -> None:
    """Link the service as a second device of `number`'s phone (an outside user's)."""
    response = client.get("/v1/qrcodelink/raw", params={"device_name": "bridge"})
    assert response.status_code == 200, response.text
    uri = response.json()["device_link_uri"]
    body = {"device_link_uri": uri, "number": number}
    assert client.post("/v1/sandbox/link", json=body).status_code == 204
    deadline = time.monotonic() + 10
    while number not in client.get("/v1/accounts").json():
        assert time.monotonic() < deadline, "the link did not finish"
        time.sleep(0.05)
