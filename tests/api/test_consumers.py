"""Named consumers of `GET /v1/receive/{number}` (poll and websocket), over real HTTP on the
sandbox: each name gets every message of the account once, in order, on its own; with
`ack=true` messages carry their inbox `id` and come again until acked."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.api.test_websocket import (
    assert_silent,
    expected_frame,
    next_frame,
    send_from_outside,
)
from tests.support.flows import ALICE, BOB, register
from tests.support.service import RunningService, start_service
from tests.support.tokens import bearer, create_token
from tests.support.waiting import wait_until

ISO_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["envelope"]["dataMessage"]["message"] for m in messages]


def poll(service: RunningService, **params: str) -> list[dict[str, Any]]:
    response = service.client.get(f"/v1/receive/{ALICE}", params={"timeout": "0", **params})
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def inbox_ids(service: RunningService, count: int | None = None) -> list[int]:
    """The inbox ids of ALICE's messages, once there are `count` (messages sent from outside
    arrive a moment after the send was answered)."""
    deadline = time.monotonic() + 10
    while True:
        stored = service.run(service.backend.inbox.store.after(ALICE, 0))
        if count is None or len(stored) >= count or time.monotonic() > deadline:
            return [m.id for m in stored]
        time.sleep(0.02)


@pytest.fixture
def open_ws(accounts: RunningService) -> Iterator[Any]:
    with contextlib.ExitStack() as opened:

        def open_(query: str) -> ClientConnection:
            url = f"{accounts.ws_url}/v1/receive/{ALICE}?{query}"
            return opened.enter_context(connect(url, open_timeout=10))

        yield open_


def test_named_consumers_each_get_every_message_beside_the_unnamed_clients(
    accounts: RunningService, open_ws: Any
) -> None:
    ha = open_ws("consumer=ha")
    bot = open_ws("consumer=bot")
    poll(accounts, consumer="cron")  # known from now on
    sent = [send_from_outside(accounts, ALICE, f"m{i}") for i in range(3)]

    for ws in (ha, bot):
        frames = [next_frame(ws) for _ in sent]
        assert frames == [
            expected_frame(f, account=ALICE, ts=ts, text=f"m{i}")
            for i, (f, ts) in enumerate(zip(frames, sent, strict=True))
        ]
        assert [list(f) for f in frames] == [["envelope", "account"]] * 3  # no id without acks
    cron = poll(accounts, consumer="cron")
    assert cron == [
        expected_frame(m, account=ALICE, ts=ts, text=f"m{i}")
        for i, (m, ts) in enumerate(zip(cron, sent, strict=True))
    ]
    assert poll(accounts, consumer="cron") == []
    assert texts(poll(accounts)) == ["m0", "m1", "m2"]  # the unnamed clients' share, untouched


def test_a_named_poller_gets_what_arrived_while_it_was_away_once(
    accounts: RunningService,
) -> None:
    assert poll(accounts, consumer="cron") == []
    send_from_outside(accounts, ALICE, "while away")
    inbox_ids(accounts, 1)  # stored
    assert texts(poll(accounts)) == ["while away"]  # an unnamed client took it meanwhile
    assert texts(poll(accounts, consumer="cron")) == ["while away"]
    assert poll(accounts, consumer="cron") == []


def test_a_named_poll_waits_for_a_new_message(accounts: RunningService) -> None:
    assert poll(accounts, consumer="cron") == []
    started = time.monotonic()
    assert poll(accounts, consumer="cron", timeout="1") == []
    assert time.monotonic() - started >= 1


def test_a_poll_with_acks_repeats_what_is_not_acked(accounts: RunningService) -> None:
    assert poll(accounts, consumer="cron", ack="true") == []
    sent = [send_from_outside(accounts, ALICE, f"m{i}") for i in range(3)]
    ids = inbox_ids(accounts, 3)

    first = poll(accounts, consumer="cron", ack="true", max_messages="2")
    assert first == [
        {**expected_frame(m, account=ALICE, ts=ts, text=f"m{i}"), "id": ids[i]}
        for i, (m, ts) in enumerate(zip(first, sent, strict=False))
    ]
    assert poll(accounts, consumer="cron", ack="true", max_messages="2") == first
    rest = poll(accounts, consumer="cron", ack="true", acked=str(ids[1]))
    assert [(m["id"], texts([m])) for m in rest] == [(ids[2], ["m2"])]
    assert poll(accounts, consumer="cron", ack="true", acked=str(ids[2])) == []


def test_a_websocket_with_acks_gets_a_frame_again_after_dropping_it(
    accounts: RunningService,
) -> None:
    url = f"{accounts.ws_url}/v1/receive/{ALICE}?consumer=bot&ack=true"
    with connect(url, open_timeout=10) as ws:
        ts = send_from_outside(accounts, ALICE, "dropped")
        frame = next_frame(ws)
        [message_id] = inbox_ids(accounts)
        assert frame == {
            **expected_frame(frame, account=ALICE, ts=ts, text="dropped"),
            "id": message_id,
        }
        ws.socket.close()  # gone right after the frame, without a word

    with connect(url, open_timeout=10) as ws:
        assert next_frame(ws) == frame
        ws.send(json.dumps({"ack": message_id}))
        assert_silent(ws)

    with connect(url, open_timeout=10) as ws:
        assert_silent(ws)
        ts = send_from_outside(accounts, ALICE, "next")
        assert texts([next_frame(ws)]) == ["next"]


def test_a_websocket_sends_again_what_is_not_acked_in_time(tmp_path: Path) -> None:
    service = start_service(tmp_path, ack_timeout=0.5)
    try:
        register(service.client, ALICE)
        url = f"{service.ws_url}/v1/receive/{ALICE}?consumer=bot&ack=true"
        with connect(url, open_timeout=10) as ws:
            send_from_outside(service, ALICE, "one")
            send_from_outside(service, ALICE, "two")
            first = [next_frame(ws), next_frame(ws)]
            ws.send(json.dumps({"ack": first[0]["id"]}))
            # Not acked: "two" again, after the timeout, on the same connection.
            assert next_frame(ws, timeout=10) == first[1]
            ws.send(json.dumps({"ack": first[1]["id"]}))
            ws.send("not an ack")  # ignored
            assert_silent(ws, 1.0)
    finally:
        service.stop()


def test_a_websocket_with_acks_has_at_most_its_bound_unacked(tmp_path: Path) -> None:
    service = start_service(tmp_path, websocket_queue=2)
    try:
        register(service.client, ALICE)
        for i in range(4):
            send_from_outside(service, ALICE, f"m{i}")
        url = f"{service.ws_url}/v1/receive/{ALICE}?consumer=bot&ack=true"
        with connect(url, open_timeout=10) as ws:
            frames = [next_frame(ws), next_frame(ws)]
            assert texts(frames) == ["m0", "m1"]
            assert_silent(ws)
            ws.send(json.dumps({"ack": frames[0]["id"]}))
            assert texts([next_frame(ws)]) == ["m2"]
    finally:
        service.stop()


def test_a_named_consumer_resumes_after_a_restart(tmp_path: Path) -> None:
    service = start_service(tmp_path)
    try:
        register(service.client, ALICE)
        assert poll(service, consumer="cron") == []
        send_from_outside(service, ALICE, "before")
        inbox_ids(service, 1)  # stored
        assert texts(poll(service, consumer="cron")) == ["before"]
        send_from_outside(service, ALICE, "while down")
        inbox_ids(service, 2)
    finally:
        service.stop()
    service = start_service(tmp_path)
    try:
        assert texts(poll(service, consumer="cron")) == ["while down"]
    finally:
        service.stop()


@pytest.mark.parametrize(
    ("query", "error"),
    [
        (
            {"consumer": "no spaces"},
            "consumer must be 1 to 64 letters, digits or . _ : @ - starting with a letter or "
            "digit, not 'no spaces'",
        ),
        (
            {"consumer": "x" * 65},
            "consumer must be 1 to 64 letters, digits or . _ : @ - starting with a letter or "
            f"digit, not {'x' * 65!r}",
        ),
        ({"consumer": "ha", "ack": "yes"}, "ack must be true or false, not 'yes'"),
        (
            {"ack": "true"},
            "acks are kept per named consumer: add consumer=<a name for this client>",
        ),
        (
            {"consumer": "ha", "ack": "true", "acked": "-1"},
            "acked must be a message id (the `id` of a message), not '-1'",
        ),
    ],
)
def test_bad_consumer_options_are_refused(
    accounts: RunningService, query: dict[str, str], error: str
) -> None:
    response = accounts.client.get(f"/v1/receive/{ALICE}", params=query)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_a_websocket_with_a_bad_consumer_name_is_refused(accounts: RunningService) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{accounts.ws_url}/v1/receive/{ALICE}?consumer=%20", open_timeout=10)
    assert refused.value.response.status_code == 400
    assert json.loads(refused.value.response.body or b"") == {
        "error": "consumer must be 1 to 64 letters, digits or . _ : @ - starting with a letter "
        "or digit, not ' '"
    }


def test_the_consumers_endpoint_lists_each_named_consumer_with_its_lag(
    accounts: RunningService, open_ws: Any
) -> None:
    ha = open_ws("consumer=ha")
    assert poll(accounts, consumer="cron") == []
    accounts.client.get(f"/v1/receive/{BOB}", params={"timeout": "0", "consumer": "cron"})
    start = accounts.run(accounts.backend.inbox.store.newest())
    send_from_outside(accounts, ALICE, "one")
    send_from_outside(accounts, ALICE, "two")
    assert texts([next_frame(ha), next_frame(ha)]) == ["one", "two"]
    [_, two] = inbox_ids(accounts)[-2:]
    expected = [
        state(name="cron", account=ALICE, kind="poll", position=start, lag=2),
        state(name="cron", account=BOB, kind="poll", position=start, lag=0),
        state(name="ha", account=ALICE, kind="websocket", position=two, lag=0, connected=True),
    ]
    # The websocket's frames count once the pong of its ping is back: allow it that moment.
    deadline = time.monotonic() + 5
    while (listed := consumers(accounts)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listed == expected

    data_dir = accounts.settings.data_dir
    alices = bearer(create_token(data_dir, "a", "--scope", "receive", "--account", ALICE))
    mine = consumers(accounts, alices)
    assert [(r["name"], r["account"]) for r in mine] == [("cron", ALICE), ("ha", ALICE)]
    assert accounts.client.delete("/v1/consumers/cron", headers=alices).status_code == 204
    everyone = bearer(create_token(data_dir, "all", "--scope", "receive"))
    left = consumers(accounts, everyone)
    assert [(r["name"], r["account"]) for r in left] == [("cron", BOB), ("ha", ALICE)]
    gone = accounts.client.delete("/v1/consumers/nobody", headers=everyone)
    assert (gone.status_code, gone.json()) == (
        404,
        {"error": "there is no consumer named 'nobody'"},
    )


def consumers(service: RunningService, headers: dict[str, str] | None = None) -> list[Any]:
    """`GET /v1/consumers`, with each `last_seen` checked and left out."""
    response = service.client.get("/v1/consumers", headers=headers)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    for found in listed:
        assert ISO_SECONDS.fullmatch(found.pop("last_seen")), found
    return listed


def state(**fields: Any) -> dict[str, Any]:
    return {"stale": False, "connected": False} | fields


def pushed(service: RunningService, text: str, *, story: bool = False) -> dict[str, Any]:
    """A message for ALICE as if the daemon had pushed it (a story when `story`)."""
    stamp = 1752436800000 + len(text) + (1000 if story else 0)
    envelope: dict[str, Any] = {"source": "+4915100000009", "timestamp": stamp}
    if story:
        envelope["storyMessage"] = {"allowsReplies": True, "textAttachment": {"text": text}}
    else:
        envelope["dataMessage"] = {"timestamp": stamp, "message": text}
    message = {"envelope": envelope, "account": ALICE}
    service.run(service.backend.inbox.on_notification("receive", message))
    return message


def test_a_websocket_with_acks_skips_stories_and_stops_at_max_messages(
    accounts: RunningService,
) -> None:
    base = f"{accounts.ws_url}/v1/receive/{ALICE}?consumer=bot&ack=true"
    with connect(base, open_timeout=10) as ws:
        assert_silent(ws, 0.2)  # known from here on
    pushed(accounts, "a story first", story=True)
    first = pushed(accounts, "one")
    pushed(accounts, "a story between", story=True)
    second = pushed(accounts, "two")
    third = pushed(accounts, "three")
    ids = inbox_ids(accounts, 5)

    with connect(f"{base}&ignore_stories=true&max_messages=2", open_timeout=10) as ws:
        assert next_frame(ws) == {**first, "id": ids[1]}
        assert next_frame(ws) == {**second, "id": ids[3]}
        assert_silent(ws)  # max_messages: no more frames on this connection
        ws.send(json.dumps({"ack": ids[0]}))  # older than anything out: ignored
        for stray in ({"ack": str(ids[3])}, {"ack": True}, {"ack": None}, ["ack"]):
            ws.send(json.dumps(stray))  # not an ack: ignored
        ws.send(json.dumps({"ack": ids[3]}))
    with connect(f"{base}&ignore_stories=true", open_timeout=10) as ws:
        assert next_frame(ws) == {**third, "id": ids[4]}
        ws.send(json.dumps({"ack": ids[4]}))
        ws.send(json.dumps({"ack": ids[4]}))  # nothing is out any more: ignored
        assert_silent(ws)
    with connect(base, open_timeout=10) as ws:
        assert_silent(ws)


def test_the_retention_settings_decide_what_a_restart_forgets(tmp_path: Path) -> None:
    service = start_service(tmp_path)
    try:
        register(service.client, ALICE)
        assert poll(service, consumer="cron") == []  # known from now on
        send_from_outside(service, ALICE, "everyone had it")
        send_from_outside(service, ALICE, "cron has not")
        done, waiting = inbox_ids(service, 2)
        assert texts(poll(service)) == ["everyone had it", "cron has not"]
        assert texts(poll(service, consumer="cron", max_messages="1")) == ["everyone had it"]
    finally:
        service.stop()

    # Taken by every consumer longer ago than the retention: forgotten at the start.
    service = start_service(tmp_path, delivered_retention_hours=0)
    try:
        stored = service.backend.inbox.store
        wait_until(lambda: service.run(stored.get(done)) is None, "the old message to go")
        assert service.run(stored.get(waiting)) is not None  # cron still wants it
        assert consumers(service) == [
            state(name="cron", account=ALICE, kind="poll", position=done, lag=1)
        ]
    finally:
        service.stop()

    # A consumer not seen for longer than its expiry holds nothing back.
    service = start_service(tmp_path, delivered_retention_hours=0, consumer_expiry_hours=0)
    try:
        stored = service.backend.inbox.store
        wait_until(lambda: service.run(stored.get(waiting)) is None, "the held message to go")
        assert consumers(service) == [
            state(name="cron", account=ALICE, kind="poll", position=done, lag=0, stale=True)
        ]
    finally:
        service.stop()


def test_polls_of_one_name_take_turns(accounts: RunningService) -> None:
    assert poll(accounts, consumer="cron") == []  # known from now on
    sent = [send_from_outside(accounts, ALICE, f"m{i}") for i in range(3)]
    inbox_ids(accounts, 3)
    answers: list[tuple[int, list[dict[str, Any]]]] = []

    def one_poll() -> None:
        with httpx.Client(base_url=accounts.url, timeout=30) as client:
            response = client.get(
                f"/v1/receive/{ALICE}",
                params={"timeout": "5", "consumer": "cron", "max_messages": "1"},
            )
            answers.append((response.status_code, response.json()))

    clients = [threading.Thread(target=one_poll) for _ in sent]
    for client in clients:
        client.start()
    for client in clients:
        client.join(30)
    assert [status for status, _ in answers] == [200, 200, 200]
    # Each message went to one of the three; none twice.
    assert sorted(t for _, got in answers for t in texts(got)) == ["m0", "m1", "m2"]
    assert poll(accounts, consumer="cron") == []
