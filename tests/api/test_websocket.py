"""`GET /v1/receive/{number}` as a websocket, over real HTTP, on the sandbox.

Messages come from an outside Signal user through the sandbox, so the account under test gets no
delivery receipts and every frame is a data message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets.asyncio.client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from signal_rest.inbox.store import StoredMessage
from tests.support.flows import ALICE, BOB, register
from tests.support.service import RunningService, start_service
from tests.support.shapes import received_text
from tests.support.standalone import SandboxProcess, ServiceProcess, serving
from tests.support.waiting import wait_until

OUTSIDER = "+4915100000009"  # an outside Signal user, not an account of the service

# What pysignalclirestapi 0.3.25's receive() puts on the websocket URL.
PYSIGNAL_QUERY = "ignore_attachments=false&ignore_stories=false&send_read_receipts=false&timeout=5"


def send_from_outside(service: RunningService, to: str, text: str) -> int:
    response = service.client.post(
        "/v1/sandbox/send", json={"from": OUTSIDER, "recipients": [to], "message": text}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["timestamp"])


def expected_frame(frame: dict[str, Any], *, account: str, ts: int, text: str) -> dict[str, Any]:
    """The whole frame as signal-cli writes it (see `received_text`)."""
    return received_text(frame, account=account, source=OUTSIDER, ts=ts, text=text)


def next_frame(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    raw = ws.recv(timeout=timeout)
    assert isinstance(raw, str), "frames must be text frames"
    frame: dict[str, Any] = json.loads(raw)
    return frame


def assert_silent(ws: ClientConnection, seconds: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        ws.recv(timeout=seconds)


def pending(service: RunningService, number: str) -> list[StoredMessage]:
    result: list[StoredMessage] = service.run(service.backend.inbox.store.pending(number))
    return result


def assert_all_delivered(service: RunningService, number: str) -> None:
    """The inbox has marked every message of `number` delivered (the server does that right
    after the frame went out, so allow it a moment)."""
    deadline = time.monotonic() + 5
    while pending(service, number) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pending(service, number) == []


@pytest.fixture
def open_ws(accounts: RunningService) -> Iterator[Any]:
    """Opens receive websockets on the service; closes them after the test."""
    with contextlib.ExitStack() as opened:

        def open_(path: str) -> ClientConnection:
            return opened.enter_context(connect(accounts.ws_url + path, open_timeout=10))

        yield open_


def test_websocket_sends_backlog_first_then_live_messages(
    accounts: RunningService, open_ws: Any
) -> None:
    early = send_from_outside(accounts, ALICE, "while nobody asked")

    ws = open_ws(f"/v1/receive/{ALICE}?{PYSIGNAL_QUERY}")
    backlog = next_frame(ws)
    assert backlog == expected_frame(backlog, account=ALICE, ts=early, text="while nobody asked")
    assert list(backlog) == ["envelope", "account"]  # signal-cli's key order, also from disk

    live_ts = send_from_outside(accounts, ALICE, "live")
    live = next_frame(ws)
    assert live == expected_frame(live, account=ALICE, ts=live_ts, text="live")
    assert_silent(ws)
    assert_all_delivered(accounts, ALICE)


def test_websocket_frames_are_not_compressed_even_when_the_client_offers_it(
    accounts: RunningService, open_ws: Any
) -> None:
    # As the Go project: a frame of a few hundred bytes costs more to deflate than it saves.
    ws = open_ws(f"/v1/receive/{ALICE}")
    assert ws.request is not None and ws.response is not None
    assert "permessage-deflate" in ws.request.headers["Sec-WebSocket-Extensions"]
    assert "Sec-WebSocket-Extensions" not in ws.response.headers
    ts = send_from_outside(accounts, ALICE, "plain")
    frame = next_frame(ws)
    assert frame == expected_frame(frame, account=ALICE, ts=ts, text="plain")


def test_websocket_two_sockets_on_one_account_both_get_a_live_message(
    accounts: RunningService, open_ws: Any
) -> None:
    first = open_ws(f"/v1/receive/{ALICE}")
    second = open_ws(f"/v1/receive/{ALICE}")
    # No wait: a websocket is subscribed by the time its handshake completes.
    ts = send_from_outside(accounts, ALICE, "for everyone")
    frames = [next_frame(first), next_frame(second)]
    assert frames == [expected_frame(f, account=ALICE, ts=ts, text="for everyone") for f in frames]
    assert_all_delivered(accounts, ALICE)


def test_websocket_delivered_message_is_not_returned_by_the_rest_poll(
    accounts: RunningService, open_ws: Any
) -> None:
    ws = open_ws(f"/v1/receive/{ALICE}")
    polled: list[Any] = []
    # A REST poll that is already waiting when the message arrives must not get it as well.
    waiting_poll = threading.Thread(
        target=lambda: polled.append(
            accounts.client.get(f"/v1/receive/{ALICE}", params={"timeout": "3"})
        )
    )
    waiting_poll.start()
    time.sleep(0.3)  # the poll is waiting
    ts = send_from_outside(accounts, ALICE, "once")

    frame = next_frame(ws)
    assert frame == expected_frame(frame, account=ALICE, ts=ts, text="once")
    waiting_poll.join(timeout=10)
    [during] = polled
    assert (during.status_code, during.json()) == (200, [])
    after = accounts.client.get(f"/v1/receive/{ALICE}", params={"timeout": "0"})
    assert (after.status_code, after.json()) == (200, [])
    assert_all_delivered(accounts, ALICE)


def test_websocket_closed_before_sending_leaves_the_message_pending(
    accounts: RunningService,
) -> None:
    message = {
        "envelope": {"source": OUTSIDER, "timestamp": 1, "dataMessage": {"message": "kept"}},
        "account": ALICE,
    }

    async def scenario() -> tuple[list[StoredMessage], list[StoredMessage]]:
        inbox = accounts.backend.inbox
        with inbox.stream(ALICE):
            # Handed to the websocket, which goes away before sending it.
            await inbox.on_notification("receive", message)
            while_claimed = await inbox.take(ALICE)
        return while_claimed, await inbox.take(ALICE)

    while_claimed, after_close = accounts.run(scenario())
    assert while_claimed == []
    assert [m.message for m in after_close] == [message]
    assert_all_delivered(accounts, ALICE)


def test_websocket_skips_messages_for_other_accounts(
    accounts: RunningService, open_ws: Any
) -> None:
    ws = open_ws(f"/v1/receive/{ALICE}")
    for_bob = send_from_outside(accounts, BOB, "for bob")
    for_alice = send_from_outside(accounts, ALICE, "for alice")

    frame = next_frame(ws)
    assert frame == expected_frame(frame, account=ALICE, ts=for_alice, text="for alice")
    assert_silent(ws)
    [bobs] = pending(accounts, BOB)
    assert bobs.message == expected_frame(bobs.message, account=BOB, ts=for_bob, text="for bob")


def test_websocket_accepts_a_percent_encoded_number(accounts: RunningService, open_ws: Any) -> None:
    ts = send_from_outside(accounts, ALICE, "encoded")
    ws = open_ws("/v1/receive/%2B4915100000001")
    frame = next_frame(ws)
    assert frame == expected_frame(frame, account=ALICE, ts=ts, text="encoded")


def test_websocket_is_closed_with_1012_on_shutdown(tmp_path: Path) -> None:
    running = start_service(tmp_path / "data")
    stopped = False
    try:
        register(running.client, ALICE)
        with connect(f"{running.ws_url}/v1/receive/{ALICE}", open_timeout=10) as ws:
            assert_silent(ws, 0.2)
            running.stop()
            stopped = True
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
    finally:
        if not stopped:
            running.stop()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1012


def test_websocket_delivers_messages_kept_across_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_service(data_dir)
    try:
        register(first.client, ALICE)
        ts = send_from_outside(first, ALICE, "survives")
    finally:
        first.stop()
    second = start_service(data_dir)
    try:
        with connect(f"{second.ws_url}/v1/receive/{ALICE}", open_timeout=10) as ws:
            frame = next_frame(ws)
            assert frame == expected_frame(frame, account=ALICE, ts=ts, text="survives")
            assert_silent(ws)
        assert_all_delivered(second, ALICE)
    finally:
        second.stop()


def test_websocket_sends_no_more_than_max_messages(accounts: RunningService, open_ws: Any) -> None:
    first = send_from_outside(accounts, ALICE, "one")
    second = send_from_outside(accounts, ALICE, "two")

    ws = open_ws(f"/v1/receive/{ALICE}?max_messages=1&timeout=1")
    frame = next_frame(ws)
    assert frame == expected_frame(frame, account=ALICE, ts=first, text="one")
    third = send_from_outside(accounts, ALICE, "three")
    assert_silent(ws)

    # What the socket did not send waits for the next consumer.
    rest = accounts.client.get(f"/v1/receive/{ALICE}", params={"timeout": "0"}).json()
    assert rest == [
        expected_frame(rest[0], account=ALICE, ts=second, text="two"),
        expected_frame(rest[1], account=ALICE, ts=third, text="three"),
    ]
    assert_all_delivered(accounts, ALICE)


def test_websocket_frames_up_to_max_messages_count_when_the_client_closes_at_once(
    accounts: RunningService,
) -> None:
    # As pysignalclirestapi: the client closes (1000) as soon as it has max_messages frames,
    # often before the server could ping after them. Its close counts them as read, whichever
    # came first; a few rounds, as either can.
    sent = [f"message {i}" for i in range(10)]
    for text in sent:
        send_from_outside(accounts, ALICE, text)

    async def receive_two() -> list[str]:
        url = f"{accounts.ws_url}/v1/receive/{ALICE}?{PYSIGNAL_QUERY}&max_messages=2"
        async with websockets.asyncio.client.connect(url, open_timeout=10) as ws:
            frames = [json.loads(await ws.recv()), json.loads(await ws.recv())]
        return [f["envelope"]["dataMessage"]["message"] for f in frames]

    received = [text for _ in range(len(sent) // 2) for text in asyncio.run(receive_two())]

    assert received == sent
    assert_all_delivered(accounts, ALICE)
    rest = accounts.client.get(f"/v1/receive/{ALICE}", params={"timeout": "0"})
    assert (rest.status_code, rest.json()) == (200, [])


def test_websocket_with_ignore_stories_takes_but_does_not_send_stories(
    accounts: RunningService, open_ws: Any
) -> None:
    ws = open_ws(f"/v1/receive/{ALICE}?ignore_stories=true")
    story = {
        "envelope": {
            "source": OUTSIDER,
            "sourceNumber": OUTSIDER,
            "sourceUuid": "5b9a5ab0-52a4-4f3c-9d4e-2a3f4c1d7e01",
            "sourceName": None,
            "sourceDevice": 1,
            "timestamp": 1752436800000,
            "serverReceivedTimestamp": 1752436800412,
            "serverDeliveredTimestamp": 1752436800903,
            "storyMessage": {"allowsReplies": True},
        },
        "account": ALICE,
    }
    # As if the daemon had pushed a story: the sandbox does not simulate stories.
    accounts.run(accounts.backend.inbox.on_notification("receive", story))
    ts = send_from_outside(accounts, ALICE, "after the story")
    frame = next_frame(ws)
    assert frame == expected_frame(frame, account=ALICE, ts=ts, text="after the story")
    assert_all_delivered(accounts, ALICE)


def test_websocket_delivered_marks_survive_a_kill_of_the_service(tmp_path: Path) -> None:
    # A frame's delivered mark is committed without a sync of its own (a websocket delivers at
    # least once anyway): only a machine crash could set it back, never a dead process.
    sandbox = SandboxProcess(tmp_path / "sandbox")
    service = ServiceProcess(tmp_path / "service", sandbox.socket)
    with serving(sandbox, service, ALICE):
        ws_url = service.url.replace("http://", "ws://")
        with connect(f"{ws_url}/v1/receive/{ALICE}", open_timeout=10) as ws:
            sandbox.call("sandbox.send", {"from": OUTSIDER, "recipient": [ALICE], "message": "hi"})
            assert next_frame(ws)["envelope"]["dataMessage"]["message"] == "hi"
            wait_until(lambda: _undelivered(service) == 0, "the pong to mark it delivered")
            service.kill()
        service.start()
        assert (service.stored(ALICE), _undelivered(service)) == (1, 0)
        response = httpx.get(f"{service.url}/v1/receive/{ALICE}", params={"timeout": "0"})
        assert (response.status_code, response.json()) == (200, [])


def _undelivered(service: ServiceProcess) -> int:
    """Messages the service has not marked delivered, as its database file holds them."""
    with contextlib.closing(sqlite3.connect(service.data_dir / "inbox.sqlite3")) as conn:
        count: int = conn.execute(
            "SELECT COUNT(*) FROM messages WHERE delivered_at IS NULL"
        ).fetchone()[0]
    return count
