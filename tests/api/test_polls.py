"""`/v1/polls/{number}` end to end on the sandbox: what the other side receives, and each 4xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_send_receive import assert_envelope
from tests.support.flows import ALICE, BOB, receive_until, register
from tests.support.service import RunningService, start_service
from tests.support.shapes import data_message

CAROL = "+4915100000003"  # an outside Signal user
POLL_TS = 1752436809700


def outside_received(client: httpx.Client, number: str) -> list[dict[str, Any]]:
    """The dataMessages an outside user's phone got, group updates left out."""
    messages = client.get(f"/v1/sandbox/received/{number}").json()
    return [
        m
        for m in messages
        if "dataMessage" in m["envelope"]
        and m["envelope"]["dataMessage"].get("groupInfo", {}).get("type") != "UPDATE"
    ]


def make_group(client: httpx.Client) -> tuple[str, str]:
    created = client.post(f"/v1/groups/{ALICE}", json={"name": "Team", "members": [BOB, CAROL]})
    assert created.status_code == 201, created.text
    rest_id = created.json()["id"]
    [group] = [g for g in client.get(f"/v1/groups/{ALICE}").json() if g["id"] == rest_id]
    return rest_id, group["internal_id"]


def group_info(internal_id: str) -> dict[str, Any]:
    return {"groupId": internal_id, "groupName": "Team", "revision": 0, "type": "DELIVER"}


def created_timestamp(response: httpx.Response) -> int:
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"timestamp": body["timestamp"]}
    return int(body["timestamp"])


def uuid_of(client: httpx.Client, number: str) -> str:
    [group] = [g for g in client.get(f"/v1/groups/{ALICE}?expand=true").json()]
    [member] = [m for m in group["members"] if m["number"] == number]
    return str(member["uuid"])


def test_create_poll_reaches_an_account(accounts: RunningService) -> None:
    client = accounts.client
    response = client.post(
        f"/v1/polls/{ALICE}",
        json={"recipient": BOB, "question": "Lunch?", "answers": ["Pizza", "Sushi", "Soup"]},
    )
    ts = created_timestamp(response)
    [received] = receive_until(client, BOB, 1)
    poll = {"question": "Lunch?", "allowMultiple": True, "options": ["Pizza", "Sushi", "Soup"]}
    assert_envelope(
        received, account=BOB, source=ALICE, ts=ts, data=data_message(ts, None, pollCreate=poll)
    )


def test_poll_in_a_group_is_voted_on_and_closed(accounts: RunningService) -> None:
    client = accounts.client
    rest_id, internal_id = make_group(client)
    created = client.post(
        f"/v1/polls/{ALICE}",
        json={
            "recipient": rest_id,
            "question": "Where?",
            "answers": ["Here", "There"],
            "allow_multiple_selections": False,
        },
    )
    poll_ts = created_timestamp(created)
    vote = {
        "recipient": rest_id,
        "poll_author": ALICE,
        "poll_timestamp": str(poll_ts),
        "selected_answers": [2],
    }
    first = client.post(f"/v1/polls/{BOB}/vote", json=vote)
    assert (first.status_code, first.content) == (204, b"")
    # Bob changes his mind: the new vote carries a higher voteCount, so apps take it.
    second = client.post(f"/v1/polls/{BOB}/vote", json={**vote, "selected_answers": [1, 2]})
    assert (second.status_code, second.content) == (204, b"")
    closed = client.request(
        "DELETE",
        f"/v1/polls/{ALICE}",
        json={"recipient": rest_id, "poll_timestamp": str(poll_ts)},
    )
    assert (closed.status_code, closed.content) == (204, b"")

    alice_uuid = uuid_of(client, ALICE)
    messages = outside_received(client, CAROL)
    stamps = [m["envelope"]["timestamp"] for m in messages]
    assert stamps[0] == poll_ts
    assert [m["envelope"]["sourceNumber"] for m in messages] == [ALICE, BOB, BOB, ALICE]

    def voted(ts: int, indexes: list[int], count: int) -> dict[str, Any]:
        pick = {
            "author": ALICE,
            "authorNumber": ALICE,
            "authorUuid": alice_uuid,
            "targetSentTimestamp": poll_ts,
            "optionIndexes": indexes,
            "voteCount": count,
        }
        return data_message(ts, None, pollVote=pick, groupInfo=group_info(internal_id))

    assert [m["envelope"]["dataMessage"] for m in messages] == [
        data_message(
            poll_ts,
            None,
            pollCreate={"question": "Where?", "allowMultiple": False, "options": ["Here", "There"]},
            groupInfo=group_info(internal_id),
        ),
        voted(stamps[1], [1], 1),
        voted(stamps[2], [0, 1], 2),
        data_message(
            stamps[3],
            None,
            pollTerminate={"targetSentTimestamp": poll_ts},
            groupInfo=group_info(internal_id),
        ),
    ]
    # The account in the group sees the same, in signal-cli's envelope.
    on_alice = receive_until(client, ALICE, 2)
    assert_envelope(
        on_alice[0], account=ALICE, source=BOB, ts=stamps[1], data=voted(stamps[1], [1], 1)
    )


def test_an_outside_user_sends_a_poll_to_an_account(accounts: RunningService) -> None:
    client = accounts.client
    acted = client.post(
        "/v1/sandbox/act",
        json={
            "from": CAROL,
            "method": "sendPollCreate",
            "params": {"recipient": [ALICE], "question": "Tea?", "option": ["yes", "no"]},
        },
    )
    assert acted.status_code == 200, acted.text
    ts = acted.json()["timestamp"]
    [received] = receive_until(client, ALICE, 1)
    poll = {"question": "Tea?", "allowMultiple": True, "options": ["yes", "no"]}
    assert_envelope(
        received, account=ALICE, source=CAROL, ts=ts, data=data_message(ts, None, pollCreate=poll)
    )
    # Alice answers it: her vote reaches Carol's phone.
    voted = client.post(
        f"/v1/polls/{ALICE}/vote",
        json={
            "recipient": CAROL,
            "poll_author": CAROL,
            "poll_timestamp": str(ts),
            "selected_answers": [1],
        },
    )
    assert voted.status_code == 204, voted.text
    [vote] = outside_received(client, CAROL)
    assert vote["envelope"]["dataMessage"]["pollVote"] == {
        "author": CAROL,
        "authorNumber": CAROL,
        "authorUuid": received["envelope"]["sourceUuid"],
        "targetSentTimestamp": ts,
        "optionIndexes": [0],
        "voteCount": 1,
    }


def test_vote_count_goes_on_after_a_restart(tmp_path: Path) -> None:
    vote = {
        "recipient": CAROL,
        "poll_author": CAROL,
        "poll_timestamp": str(POLL_TS),
        "selected_answers": [1],
    }
    data_dir = tmp_path / "data"
    for expected in (1, 2):
        service = start_service(data_dir)
        try:
            if expected == 1:
                register(service.client, ALICE)
            response = service.client.post(f"/v1/polls/{ALICE}/vote", json=vote)
            assert response.status_code == 204, response.text
            counts = [
                m["envelope"]["dataMessage"]["pollVote"]["voteCount"]
                for m in outside_received(service.client, CAROL)
            ]
            assert counts == [1, 2][:expected]
        finally:
            service.stop()


def test_poll_to_an_unknown_username_reports_it(accounts: RunningService) -> None:
    response = accounts.client.post(
        f"/v1/polls/{ALICE}",
        json={"recipient": "nobody.01", "question": "Q", "answers": ["a", "b"]},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Failed to send message (nobody.01: UNREGISTERED_FAILURE)"}


CREATE = {"recipient": CAROL, "question": "Q", "answers": ["a", "b"]}
VOTE = {
    "recipient": CAROL,
    "poll_author": CAROL,
    "poll_timestamp": str(POLL_TS),
    "selected_answers": [1],
}
CLOSE = {"recipient": CAROL, "poll_timestamp": str(POLL_TS)}
P = "Couldn't process request - "


def _missing(field: str) -> str:
    return f"Couldn't process request - {field} missing"


@pytest.mark.parametrize(
    ("method", "path", "body", "error"),
    [
        ("POST", "", None, P + "the body is empty: this route needs a JSON object"),
        (
            "POST",
            "",
            {**CREATE, "answers": "a"},
            P + 'answers must be a list of strings, got the string "a"',
        ),
        (
            "POST",
            "",
            {**CREATE, "allow_multiple_selections": "no"},
            P + 'allow_multiple_selections must be true or false, got the string "no"',
        ),
        ("POST", "", {**CREATE, "recipient": ""}, _missing("recipient")),
        ("POST", "", {"recipient": "", "question": "", "answers": []}, _missing("recipient")),
        ("POST", "", {**CREATE, "question": ""}, _missing("question")),
        ("POST", "", {**CREATE, "answers": []}, _missing("answers")),
        ("POST", "", {**CREATE, "answers": ["only"]}, "Poll needs at least two options"),
        (
            "POST",
            "",
            {**CREATE, "answers": [str(i) for i in range(11)]},
            "Poll cannot have more than 10 options",
        ),
        (
            "POST",
            "",
            {**CREATE, "recipient": "group.!!!!!!!!!!!!"},
            "Invalid identifier group.!!!!!!!!!!!!",
        ),
        (
            "POST",
            "/vote",
            {**VOTE, "poll_timestamp": POLL_TS},
            P + f"poll_timestamp must be a string, got {POLL_TS}",
        ),
        (
            "POST",
            "/vote",
            {**VOTE, "selected_answers": [2**31]},
            P + "selected_answers[0] must be a 32-bit integer, got 2147483648",
        ),
        ("POST", "/vote", {**VOTE, "poll_timestamp": ""}, _missing("poll_timestamp")),
        (
            "POST",
            "/vote",
            {"recipient": "", "poll_author": "", "poll_timestamp": "", "selected_answers": []},
            _missing("poll_timestamp"),
        ),
        (
            "POST",
            "/vote",
            {**VOTE, "poll_timestamp": "17e3"},
            "Couldn't process request - invalid timestamp",
        ),
        (
            "POST",
            "/vote",
            {**VOTE, "poll_timestamp": "9223372036854775808"},
            "Couldn't process request - invalid timestamp",
        ),
        ("POST", "/vote", {**VOTE, "poll_author": ""}, _missing("poll_author")),
        (
            "POST",
            "/vote",
            {**VOTE, "poll_author": "", "selected_answers": []},
            _missing("poll_author"),
        ),
        ("POST", "/vote", {**VOTE, "selected_answers": []}, _missing("selected_answers")),
        (
            "POST",
            "/vote",
            {**VOTE, "selected_answers": [1, 0]},
            "Invalid index in selected_answers specified, index needs to be >= 1!",
        ),
        ("POST", "/vote", {**VOTE, "recipient": ""}, _missing("recipient")),
        ("DELETE", "", {**CLOSE, "poll_timestamp": ""}, _missing("poll_timestamp")),
        (
            "DELETE",
            "",
            {**CLOSE, "poll_timestamp": " 1"},
            "Couldn't process request - invalid timestamp",
        ),
        ("DELETE", "", {**CLOSE, "recipient": ""}, _missing("recipient")),
        ("DELETE", "", [CLOSE], P + "the body must be a JSON object, got a list"),
    ],
    ids=[
        "create-no-body",
        "create-answers-not-a-list",
        "create-allow-multiple-not-a-bool",
        "create-no-recipient",
        "create-recipient-checked-first",
        "create-no-question",
        "create-no-answers",
        "create-one-answer",
        "create-eleven-answers",
        "create-bad-group-id",
        "vote-timestamp-as-number",
        "vote-answer-beyond-int32",
        "vote-no-timestamp",
        "vote-timestamp-checked-first",
        "vote-timestamp-not-an-integer",
        "vote-timestamp-beyond-int64",
        "vote-no-author",
        "vote-author-before-answers",
        "vote-no-answers",
        "vote-zero-answer",
        "vote-no-recipient",
        "close-no-timestamp",
        "close-timestamp-with-space",
        "close-no-recipient",
        "close-body-not-an-object",
    ],
)
def test_poll_routes_reject_bad_bodies(
    accounts: RunningService, method: str, path: str, body: Any, error: str
) -> None:
    client = accounts.client
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    response = client.request(method, f"/v1/polls/{ALICE}{path}", **kwargs)
    assert (response.status_code, response.json()) == (400, {"error": error})
    # Nothing reached Carol's phone.
    assert outside_received(client, CAROL) == []
