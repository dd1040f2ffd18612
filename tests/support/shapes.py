"""What received messages and error texts look like, shared by the end-to-end tests."""

from __future__ import annotations

import re
from typing import Any

import pytest

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def data_message(ts: int, text: str | None, **extra: Any) -> dict[str, Any]:
    """A received dataMessage with signal-cli's always-present keys."""
    return {
        "timestamp": ts,
        "message": text,
        "expiresInSeconds": 0,
        "isExpirationUpdate": False,
        "viewOnce": False,
        **extra,
    }


def received(
    message: dict[str, Any], *, account: str, source: str, ts: int, data: dict[str, Any]
) -> dict[str, Any]:
    """The whole `{envelope, account}` object of a `dataMessage` `source` sent from outside (no
    profile name), as signal-cli writes it; only the network-made values are taken from
    `message`, after their shape is checked."""
    envelope = message["envelope"]
    assert UUID.match(envelope["sourceUuid"]), envelope
    assert envelope["serverReceivedTimestamp"] >= ts
    assert envelope["serverDeliveredTimestamp"] >= envelope["serverReceivedTimestamp"]
    return {
        "envelope": {
            "source": source,
            "sourceNumber": source,
            "sourceUuid": envelope["sourceUuid"],
            "sourceName": None,
            "sourceDevice": 1,
            "timestamp": ts,
            "serverReceivedTimestamp": envelope["serverReceivedTimestamp"],
            "serverDeliveredTimestamp": envelope["serverDeliveredTimestamp"],
            "dataMessage": data,
        },
        "account": account,
    }


def received_text(
    message: dict[str, Any], *, account: str, source: str, ts: int, text: str
) -> dict[str, Any]:
    """`received` for a plain text."""
    return received(message, account=account, source=source, ts=ts, data=data_message(ts, text))


# Group bodies with an invalid permission or link, and the Go project's text for each.
INVALID_PERMISSIONS = pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"permissions": {"add_members": "everyone"}},
            "Invalid add members permission provided - only 'every-member' and 'only-admins' "
            "allowed!",
        ),
        (
            {"permissions": {"edit_group": "admins"}},
            "Invalid edit group permissions provided - only 'every-member' and 'only-admins' "
            "allowed!",
        ),
        (
            {"permissions": {"send_messages": "ONLY_ADMINS"}},
            "Invalid send messages permissions provided - only 'every-member' and 'only-admins' "
            "allowed!",
        ),
        (
            {"group_link": "on"},
            "Invalid group link provided - only 'enabled', 'enabled-with-approval' and "
            "'disabled' allowed!",
        ),
    ],
    ids=["add-members", "edit-group", "send-messages", "group-link"],
)


# What a request gets right after the sandbox was closed under a running service: which fact
# it reports depends on how far the client got in noticing (the close itself, a reconnect
# attempt finding the socket file gone, or a request in flight when the close was read).
DAEMON_GONE = [
    {"error": "signal-cli is not reachable (it closed the connection); retrying"},
    {"error": "signal-cli is not reachable (connection refused); retrying"},
    {"error": "signal-cli is not reachable (no socket at the configured path); retrying"},
    {"error": "lost the connection to signal-cli (it closed the connection) before it answered"},
]


def not_an_account(number: str) -> tuple[int, dict[str, Any]]:
    """The status and body every account route answers for a number that is no account."""
    return 404, {
        "error": f"{number} is no account of this service: register it with "
        f"POST /v1/register/{number} or link it with GET /v1/qrcodelink?device_name=<name>; "
        "GET /v1/accounts lists the accounts"
    }
