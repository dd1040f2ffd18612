"""The signal-cli params the conversation routes send, per kind of recipient."""

from __future__ import annotations

from typing import Any

import pytest

from signal_rest.domain.conversation import (
    reaction_params,
    receipt_params,
    remote_delete_params,
    typing_params,
)

TS = 1752436800000
INTERNAL = "Pmpi+EfPWmsxiomLe9Nx2XF9HOE483p6iKiFj65iMwI="
REST_GROUP = "group.UG1waStFZlBXbXN4aW9tTGU5TngyWEY5SE9FNDgzcDZpS2lGajY1aU13ST0="
UUID_UPPER = "{6BA7B810-9DAD-11D1-80B4-00C04FD430C8}"
UUID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


@pytest.mark.parametrize(
    ("recipient", "target"),
    [
        ("+4915100000002", {"recipient": ["+4915100000002"]}),
        (UUID_UPPER, {"recipient": [UUID]}),
        ("alice.01", {"username": ["alice.01"]}),
        ("group.42", {"username": ["group.42"]}),
        (REST_GROUP, {"groupId": INTERNAL}),
        (INTERNAL, {"groupId": INTERNAL}),
    ],
    ids=["number", "uuid", "username", "group-like-username", "group", "internal-group-id"],
)
def test_reactions_and_remote_deletes_name_each_kind_of_recipient(
    recipient: str, target: dict[str, Any]
) -> None:
    assert reaction_params(recipient, "👍", "alice.01", TS, remove=False) == {
        **target,
        "emoji": "👍",
        "targetAuthor": "u:alice.01",
        "targetTimestamp": TS,
    }
    assert remote_delete_params(recipient, TS) == {**target, "targetTimestamp": TS}


def test_removing_a_reaction_defaults_the_emoji() -> None:
    assert reaction_params("+4915100000002", "", UUID_UPPER, TS, remove=True) == {
        "recipient": ["+4915100000002"],
        "emoji": "👍",
        "targetAuthor": UUID,
        "targetTimestamp": TS,
        "remove": True,
    }


@pytest.mark.parametrize(
    ("recipient", "target"),
    [
        ("+4915100000002", {"recipient": ["+4915100000002"]}),
        ("alice.01", {"recipient": ["u:alice.01"]}),
        (REST_GROUP, {"groupId": INTERNAL}),
    ],
    ids=["number", "username", "group"],
)
def test_typing_sends_usernames_as_u_recipients(recipient: str, target: dict[str, Any]) -> None:
    assert typing_params(recipient, stop=False) == target
    assert typing_params(recipient, stop=True) == {**target, "stop": True}


@pytest.mark.parametrize(
    ("recipient", "sent_as"),
    [("+4915100000002", "+4915100000002"), (UUID_UPPER, UUID), ("alice.01", "u:alice.01")],
    ids=["number", "uuid", "username"],
)
def test_receipts_send_signal_clis_type_param(recipient: str, sent_as: str) -> None:
    assert receipt_params(recipient, "viewed", TS) == {
        "recipient": sent_as,
        "targetTimestamp": [TS],
        "type": "viewed",
    }
