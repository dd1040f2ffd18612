"""Polls and pins on the sandbox: signal-cli 0.14's sendPoll*, sendPinMessage, sendUnpinMessage."""

from __future__ import annotations

from typing import Any

import pytest

from .client import LineClient
from .conftest import make_account
from .test_messaging import envelope, text, uuid_of

ALICE = "+14155550100"  # local
BOB = "+14155550101"  # local
CAROL = "+14155550102"  # outside user
POLL_TS = 1752436809700  # a real ms timestamp: signal-cli reads it as a long


def sent_to(rpc_result: dict[str, Any], address: dict[str, Any], gid: str | None = None) -> Any:
    entry: dict[str, Any] = {"recipientAddress": {**address, "username": None}}
    if gid is not None:
        entry["groupId"] = gid
    entry["type"] = "SUCCESS"
    return {"timestamp": rpc_result["timestamp"], "results": [entry]}


async def make_group(rpc: LineClient) -> str:
    created = await rpc.call(
        "updateGroup", {"account": ALICE, "name": "Team", "members": [BOB, CAROL]}
    )
    # Bob's group-change message, out of the way.
    assert len(await rpc.call("receive", {"account": BOB, "timeout": 0.05})) == 1
    return str(created["groupId"])


def group_info(gid: str) -> dict[str, Any]:
    return {"groupId": gid, "groupName": "Team", "revision": 0, "type": "DELIVER"}


async def test_poll_create_reaches_a_local_account(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await make_account(rpc, BOB)
    alice_uuid, bob_uuid = await uuid_of(rpc, ALICE), await uuid_of(rpc, BOB)
    result = await rpc.call(
        "sendPollCreate",
        {"account": ALICE, "recipient": BOB, "question": "Lunch?", "option": ["Pizza", "Sushi"]},
    )
    assert result == sent_to(result, {"uuid": bob_uuid, "number": BOB})
    ts = result["timestamp"]
    [got] = await rpc.call("receive", {"account": BOB, "timeout": 0.05})
    poll = {"question": "Lunch?", "allowMultiple": True, "options": ["Pizza", "Sushi"]}
    assert got == {
        "envelope": envelope(
            ALICE, alice_uuid, ts, text(ts, None, pollCreate=poll), got["envelope"]
        ),
        "account": BOB,
    }


async def test_poll_vote_and_terminate_reach_group_members(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await make_account(rpc, BOB)
    gid = await make_group(rpc)
    alice_uuid = await uuid_of(rpc, ALICE)
    vote = await rpc.call(
        "sendPollVote",
        {
            "account": BOB,
            "groupId": gid,
            "pollAuthor": ALICE,
            "pollTimestamp": POLL_TS,
            "option": [0, 2],
            "voteCount": 2,
        },
    )
    ended = await rpc.call(
        "sendPollTerminate", {"account": ALICE, "group-id": gid, "poll-timestamp": POLL_TS}
    )
    # Carol's phone has the group's creation first.
    received = (await rpc.call("sandbox.listReceived", {"number": CAROL}))[1:]
    data = [r["envelope"]["dataMessage"] for r in received]
    assert data == [
        text(
            vote["timestamp"],
            None,
            pollVote={
                "author": ALICE,
                "authorNumber": ALICE,
                "authorUuid": alice_uuid,
                "targetSentTimestamp": POLL_TS,
                "optionIndexes": [0, 2],
                "voteCount": 2,
            },
            groupInfo=group_info(gid),
        )["dataMessage"],
        text(
            ended["timestamp"],
            None,
            pollTerminate={"targetSentTimestamp": POLL_TS},
            groupInfo=group_info(gid),
        )["dataMessage"],
    ]
    # signal-cli's key order: the poll parts come before groupInfo.
    assert list(data[0])[-2:] == ["pollVote", "groupInfo"]
    assert [r["envelope"]["sourceNumber"] for r in received] == [BOB, ALICE]


async def test_pin_and_unpin_in_a_group(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await make_account(rpc, BOB)
    gid = await make_group(rpc)
    bob_uuid = await uuid_of(rpc, BOB)
    target = {"targetAuthor": BOB, "targetAuthorNumber": BOB, "targetAuthorUuid": bob_uuid}
    pinned = await rpc.call(
        "sendPinMessage",
        {
            "account": ALICE,
            "groupId": gid,
            "targetAuthor": BOB,
            "targetTimestamp": POLL_TS,
            "pinDuration": -1,
        },
    )
    unpinned = await rpc.call(
        "sendUnpinMessage",
        {"account": ALICE, "groupId": gid, "targetAuthor": BOB, "targetTimestamp": POLL_TS},
    )
    got = await rpc.call("receive", {"account": BOB, "timeout": 0.05})
    data = [m["envelope"]["dataMessage"] for m in got]
    assert data == [
        text(
            pinned["timestamp"],
            None,
            groupInfo=group_info(gid),
            pinMessage={**target, "targetSentTimestamp": POLL_TS, "pinDurationSeconds": -1},
        )["dataMessage"],
        text(
            unpinned["timestamp"],
            None,
            groupInfo=group_info(gid),
            unpinMessage={**target, "targetSentTimestamp": POLL_TS},
        )["dataMessage"],
    ]
    # signal-cli's key order: pins come after groupInfo.
    assert list(data[0])[-2:] == ["groupInfo", "pinMessage"]


async def test_pin_without_author_pins_the_single_recipients_message(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    result = await rpc.call(
        "sendPinMessage",
        {"account": ALICE, "recipient": CAROL, "targetTimestamp": POLL_TS, "pinDuration": 3600},
    )
    carol_uuid = result["results"][0]["recipientAddress"]["uuid"]
    [got] = await rpc.call("sandbox.listReceived", {"number": CAROL})
    assert (
        got["envelope"]["dataMessage"]
        == text(
            result["timestamp"],
            None,
            pinMessage={
                "targetAuthor": CAROL,
                "targetAuthorNumber": CAROL,
                "targetAuthorUuid": carol_uuid,
                "targetSentTimestamp": POLL_TS,
                "pinDurationSeconds": 3600,
            },
        )["dataMessage"]
    )


async def test_an_outside_user_creates_a_poll_for_an_account(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    result = await rpc.call(
        "sandbox.act",
        {
            "from": CAROL,
            "method": "sendPollCreate",
            "params": {
                "recipient": [ALICE],
                "question": "Tea?",
                "options": ["yes", "no"],
                "noMulti": True,
            },
        },
    )
    [got] = await rpc.call("receive", {"account": ALICE, "timeout": 0.05})
    assert got["envelope"]["sourceNumber"] == CAROL
    assert (
        got["envelope"]["dataMessage"]
        == text(
            result["timestamp"],
            None,
            pollCreate={"question": "Tea?", "allowMultiple": False, "options": ["yes", "no"]},
        )["dataMessage"]
    )


def _npe(what: str) -> dict[str, Any]:
    return {
        "code": -32603,
        "message": f'Cannot invoke "{what}" because value is null (NullPointerException)',
        "data": None,
    }


def _cast(source: str, target: str) -> dict[str, Any]:
    return {
        "code": -32603,
        "message": f"class {source} cannot be cast to class {target} ({source} and {target} are "
        "in module java.base of loader 'bootstrap') (ClassCastException)",
        "data": None,
    }


def _user(message: str) -> dict[str, Any]:
    return {"code": -1, "message": message, "data": None}


INT = "java.lang.Integer"
LONG = "java.lang.Long"
STRING = "java.lang.String"
VOTE = {"recipient": CAROL, "pollAuthor": CAROL, "pollTimestamp": POLL_TS, "voteCount": 1}
PIN = {"recipient": CAROL, "targetTimestamp": POLL_TS, "pinDuration": -1}
OPTIONS = {"recipient": CAROL, "question": "Q"}


@pytest.mark.parametrize(
    ("method", "params", "error"),
    [
        ("sendPollCreate", {"question": "Q", "option": ["a", "b"]}, _user("No recipients given")),
        (
            "sendPollCreate",
            OPTIONS,
            {
                "code": -32603,
                "message": 'Cannot invoke "java.util.List.size()" because "options" is null '
                "(NullPointerException)",
                "data": None,
            },
        ),
        (
            "sendPollCreate",
            {**OPTIONS, "option": "only"},
            _user("Poll needs at least two options"),
        ),
        (
            "sendPollCreate",
            {**OPTIONS, "option": [str(i) for i in range(11)]},
            _user("Poll cannot have more than 10 options"),
        ),
        ("sendPollCreate", {"recipient": CAROL, "option": ["a", "b"]}, _npe("String.length()")),
        (
            "sendPollCreate",
            {**OPTIONS, "option": ["a", "b"], "noMulti": "yes"},
            _cast(STRING, "java.lang.Boolean"),
        ),
        (
            "sendPollCreate",
            {**OPTIONS, "option": ["a", "b"], "groupId": "not base64!"},
            _user(
                'Invalid group id: Failed to decode groupId (must be base64) "not base64!": '
                "Illegal base64 character 20"
            ),
        ),
        (
            "sendPollCreate",
            {"groupId": "AAAA", "question": "Q", "option": ["a", "b"]},
            _user("Group not found: AAAA"),
        ),
        ("sendPollVote", {**VOTE, "pollAuthor": None}, _npe("String.length()")),
        ("sendPollVote", {**VOTE, "pollTimestamp": None}, _npe("java.lang.Long.longValue()")),
        ("sendPollVote", {**VOTE, "voteCount": None}, _npe("java.lang.Integer.intValue()")),
        ("sendPollVote", {**VOTE, "pollTimestamp": 123}, _cast(INT, LONG)),
        ("sendPollVote", {**VOTE, "voteCount": "2"}, _cast(STRING, INT)),
        ("sendPollVote", {**VOTE, "option": ["1"]}, _cast(STRING, INT)),
        (
            "sendPollVote",
            {**VOTE, "pollAuthor": "nobody"},
            _user(
                "Invalid phone number 'nobody': The string supplied did not seem to be a phone "
                "number."
            ),
        ),
        ("sendPollTerminate", {"recipient": CAROL}, _npe("java.lang.Long.longValue()")),
        ("sendPollTerminate", {"pollTimestamp": POLL_TS}, _user("No recipients given")),
        ("sendPinMessage", {**PIN, "pinDuration": None}, _npe("java.lang.Integer.intValue()")),
        ("sendPinMessage", {**PIN, "pinDuration": 2**40}, _cast(LONG, INT)),
        ("sendPinMessage", {**PIN, "targetTimestamp": None}, _npe("java.lang.Long.longValue()")),
        (
            "sendPinMessage",
            {**PIN, "recipient": [CAROL, BOB]},
            _npe("String.length()"),
        ),
        (
            "sendUnpinMessage",
            {"recipient": CAROL},
            _npe("java.lang.Long.longValue()"),
        ),
        ("sendUnpinMessage", {"targetTimestamp": POLL_TS}, _user("No recipients given")),
    ],
    ids=[
        "create-no-recipients",
        "create-no-options",
        "create-one-option",
        "create-eleven-options",
        "create-no-question",
        "create-string-no-multi",
        "create-bad-group-id",
        "create-unknown-group",
        "vote-no-author",
        "vote-no-poll-timestamp",
        "vote-no-vote-count",
        "vote-small-poll-timestamp",
        "vote-string-vote-count",
        "vote-string-option",
        "vote-bad-author",
        "terminate-no-poll-timestamp",
        "terminate-no-recipients",
        "pin-no-duration",
        "pin-huge-duration",
        "pin-no-target-timestamp",
        "pin-no-author-two-recipients",
        "unpin-no-target-timestamp",
        "unpin-no-recipients",
    ],
)
async def test_poll_and_pin_input_errors(
    rpc: LineClient, method: str, params: dict[str, Any], error: dict[str, Any]
) -> None:
    await make_account(rpc, ALICE)
    given = {k: v for k, v in params.items() if v is not None}
    assert await rpc.error(method, {"account": ALICE, **given}) == error
    assert await rpc.call("sandbox.listReceived", {"number": CAROL}) == []


async def test_poll_in_a_group_of_others_is_refused(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await make_account(rpc, BOB)
    gid = await make_group(rpc)
    await rpc.call("quitGroup", {"account": BOB, "groupId": gid})
    assert await rpc.error(
        "sendPollTerminate", {"account": BOB, "groupId": gid, "pollTimestamp": POLL_TS}
    ) == _user(f"User is not a member in group: Team ({gid})")
