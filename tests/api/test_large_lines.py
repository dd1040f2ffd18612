"""A message far larger than a usual JSON-RPC line travels sandbox → service → poll intact.

An outside user's 70 MB text is one 70 MB `receive` line from the daemon: more than the 64 MiB a
line could have before, which dropped the daemon connection and lost the message. The other way,
signal-cli reads no string over 20,000,000 characters (it drops the connection instead), so such
a send is refused before it is written.
"""

from __future__ import annotations

import httpx

from signal_rest.jsonrpc.client import MAX_STRING
from tests.support.flows import ALICE, BOB, is_content
from tests.support.service import RunningService
from tests.support.shapes import data_message

OUTSIDER = "+4915100000009"  # an outside Signal user, not an account of the service
SEVENTY_MB = 70 * 1000 * 1000


def test_seventy_megabyte_message_is_received_by_a_poll(accounts: RunningService) -> None:
    client = httpx.Client(base_url=accounts.url, timeout=120)
    text = "".join(chr(0x61 + n % 26) for n in range(26)) * (SEVENTY_MB // 26)
    sent = client.post(
        "/v1/sandbox/send", json={"from": OUTSIDER, "recipients": [ALICE], "message": text}
    )
    assert sent.status_code == 201, sent.text
    timestamp = int(sent.json()["timestamp"])

    received = client.get(f"/v1/receive/{ALICE}", params={"timeout": "5"})
    assert received.status_code == 200, received.text[:300]
    messages = [m for m in received.json() if is_content(m)]
    assert [m["envelope"]["dataMessage"] for m in messages] == [data_message(timestamp, text)]

    # The connection to the daemon survived: the next message arrives on it too.
    assert accounts.backend.rpc.connected
    sent = client.post(
        "/v1/sandbox/send", json={"from": OUTSIDER, "recipients": [ALICE], "message": "after"}
    )
    assert sent.status_code == 201, sent.text
    received = client.get(f"/v1/receive/{ALICE}", params={"timeout": "5"})
    messages = [m for m in received.json() if is_content(m)]
    assert [m["envelope"]["dataMessage"] for m in messages] == [
        data_message(int(sent.json()["timestamp"]), "after")
    ]
    client.close()


def test_send_of_a_text_longer_than_signal_cli_reads_is_400(accounts: RunningService) -> None:
    client = httpx.Client(base_url=accounts.url, timeout=120)
    body = {"number": ALICE, "recipients": [BOB], "message": "x" * (MAX_STRING + 1)}
    response = client.post("/v2/send", json=body)
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": f"message is too long: {MAX_STRING + 1} characters, and signal-cli accepts "
            f"at most {MAX_STRING} in one value"
        },
    )
    # Refused before it was written: the connection, and a send at the limit, work.
    body["message"] = "x" * MAX_STRING
    response = client.post("/v2/send", json=body)
    assert response.status_code == 201, response.text
    client.close()
