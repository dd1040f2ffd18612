"""The body and headers of a webhook request, checked with the Standard Webhooks reference
verifier (the `standardwebhooks` package), not with our own code."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from signal_rest.inbox.store import StoredMessage
from signal_rest.webhooks.signing import payload, request_headers, webhook_id

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
KEY = bytes(range(32))

MESSAGE: dict[str, Any] = {
    "envelope": {
        "source": "+4915100000003",
        "sourceNumber": "+4915100000003",
        "sourceName": "Carol – Straße",
        "timestamp": 1700000000000,
        "dataMessage": {"timestamp": 1700000000000, "message": "Grüße 👋"},
    },
    "account": "+4915100000001",
}


def test_payload_is_signal_clis_receive_notification_as_one_line() -> None:
    body = payload(StoredMessage(7, "+4915100000001", MESSAGE)).decode()
    assert body == (
        '{"jsonrpc":"2.0","method":"receive","params":{"envelope":{"source":"+4915100000003",'
        '"sourceNumber":"+4915100000003","sourceName":"Carol – Straße",'
        '"timestamp":1700000000000,'
        '"dataMessage":{"timestamp":1700000000000,"message":"Grüße 👋"}},'
        '"account":"+4915100000001"}}\n'
    )


def test_signature_is_accepted_by_the_standard_webhooks_verifier() -> None:
    stored = StoredMessage(7, "+4915100000001", MESSAGE)
    body = payload(stored)
    now = int(time.time())
    headers = request_headers(stored, body, key=KEY, timestamp=now)
    assert headers == {
        "Content-Type": "application/json",
        "webhook-id": webhook_id(stored),
        "webhook-timestamp": str(now),
        "webhook-signature": headers["webhook-signature"],
    }
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(SECRET).verify(body, headers) == {
        "jsonrpc": "2.0",
        "method": "receive",
        "params": MESSAGE,
    }


def test_signature_does_not_verify_a_changed_body_or_another_secret() -> None:
    stored = StoredMessage(7, "+4915100000001", MESSAGE)
    body = payload(stored)
    headers = request_headers(stored, body, key=KEY, timestamp=int(time.time()))
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"Gr", b"gr"), headers)
    other = "whsec_" + base64.b64encode(bytes(32)).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)


def test_unsigned_without_a_key() -> None:
    stored = StoredMessage(7, "+4915100000001", MESSAGE)
    assert request_headers(stored, payload(stored), key=None, timestamp=1700000000) == {
        "Content-Type": "application/json",
        "webhook-id": webhook_id(stored),
        "webhook-timestamp": "1700000000",
    }


def test_webhook_id_depends_on_the_message_not_its_inbox_row_or_key_order() -> None:
    stored = StoredMessage(7, "+4915100000001", MESSAGE)
    reordered = json.loads(json.dumps(MESSAGE, sort_keys=True))
    assert webhook_id(StoredMessage(9000, "+4915100000001", reordered)) == webhook_id(stored)
    other = {**MESSAGE, "envelope": {**MESSAGE["envelope"], "timestamp": 1700000000001}}
    assert webhook_id(StoredMessage(7, "+4915100000001", other)) != webhook_id(stored)
    assert webhook_id(stored).startswith("msg_")
    assert len(webhook_id(stored)) == len("msg_") + 32
