"""What one webhook request carries: the body, its id and, with a secret, its signature.

    body = payload(stored)                       # b'{"jsonrpc":"2.0","method":"receive",…}\\n'
    headers = request_headers(stored, body, key=key, timestamp=int(time.time()))

The body is the JSON-RPC notification signal-cli writes in its default receive mode, one compact
line with the message in its stored (signal-cli's) key order: byte for byte what the Go project
POSTs, since it forwards that line as it read it.

Signing follows the Standard Webhooks specification (https://www.standardwebhooks.com/):
`webhook-signature` is `v1,` + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")).
The `webhook-id` is derived from the message itself, not from its row in the inbox, so it stays
the same across retries, restarts and even a lost inbox that the daemon fills again: receivers
de-duplicate with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from signal_rest.inbox.store import StoredMessage

__all__ = ["payload", "request_headers", "sign", "webhook_id"]


def payload(stored: StoredMessage) -> bytes:
    notification = {"jsonrpc": "2.0", "method": "receive", "params": stored.message}
    line = json.dumps(notification, ensure_ascii=False, separators=(",", ":")) + "\n"
    return line.encode()


def webhook_id(stored: StoredMessage) -> str:
    """`msg_` and 32 hex digits: a digest of the message whatever its key order (the one the
    inbox tells duplicates apart by), so the same message always has the same id."""
    canonical = json.dumps(stored.message, ensure_ascii=False, sort_keys=True)
    return "msg_" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def request_headers(
    stored: StoredMessage, body: bytes, *, key: bytes | None, timestamp: int
) -> dict[str, str]:
    """Content-Type, webhook-id and webhook-timestamp always (receivers de-duplicate by id with
    or without a secret); webhook-signature with a key."""
    message_id = webhook_id(stored)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
    }
    if key is not None:
        headers["webhook-signature"] = sign(key, message_id, timestamp, body)
    return headers
