"""Receiving at the edges, over real HTTP and websockets: clients that give up or stop reading
lose nothing, and do not hold up the other consumers of the account."""

from __future__ import annotations

import gc
import json
import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from signal_rest.inbox.delivery import Stream
from signal_rest.protocols.websocket import WebSocketProtocol
from tests.api.test_websocket import (
    assert_all_delivered,
    assert_silent,
    next_frame,
    pending,
    send_from_outside,
)
from tests.support.flows import ALICE, register
from tests.support.service import RunningService, start_service
from tests.support.waiting import wait_until


def streams(service: RunningService, number: str) -> list[Stream]:
    async def snapshot() -> list[Stream]:
        return list(service.backend.inbox._streams.get(number, ()))

    result: list[Stream] = service.run(snapshot())
    return result


def websocket_connections(service: RunningService) -> int:
    """The websocket connections the server still holds, closed or not."""

    async def count() -> int:
        connections = service.server.server_state.connections
        return sum(isinstance(c, WebSocketProtocol) for c in connections)

    result: int = service.run(count())
    return result


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["envelope"]["dataMessage"]["message"] for m in messages]


class StuckClient:
    """A websocket client that completes the handshake and then never reads."""

    def __init__(self, service: RunningService, path: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", service.port))
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{service.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += self.sock.recv(1)  # byte by byte: nothing after the handshake is read
        assert head.startswith(b"HTTP/1.1 101 "), head

    def read_to_close(self) -> list[tuple[int, bytes]]:
        """Now read everything the server sent, up to its close frame: (opcode, payload)s."""
        self.sock.settimeout(10)
        data = b""
        frames: list[tuple[int, bytes]] = []
        while not frames or frames[-1][0] != 0x8:
            chunk = self.sock.recv(65536)
            assert chunk, f"the connection ended without a close frame after {len(frames)} frames"
            data += chunk
            frames, data = _parse(frames, data)
        return frames

    def close(self) -> None:
        self.sock.close()


class SilentClient(StuckClient):
    """A websocket client that reads every frame but answers pings only when told to."""

    def __init__(self, service: RunningService, path: str) -> None:
        super().__init__(service, path)
        self.sock.settimeout(10)
        self.frames: list[tuple[int, bytes]] = []
        self._data = b""

    def read_until(self, *, texts: int, pings: int = 0) -> list[tuple[int, bytes]]:
        """Read until `texts` text frames and `pings` pings came in all: every frame so far,
        (opcode, payload)."""
        while self._count(0x1) < texts or self._count(0x9) < pings:
            self._read()
        return self.frames

    def read_to_close(self) -> list[tuple[int, bytes]]:
        while not self.frames or self.frames[-1][0] != 0x8:
            self._read()
        return self.frames

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, f"the connection ended after {len(self.frames)} frames"
        self.frames, self._data = _parse(self.frames, self._data + chunk)

    def _count(self, opcode: int) -> int:
        return sum(1 for op, _ in self.frames if op == opcode)

    def pong(self, payload: bytes) -> None:
        self._send(0xA, payload)

    def send_close(self, code: int) -> None:
        self._send(0x8, struct.pack(">H", code))

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = b"\x01\x02\x03\x04"  # client frames are masked
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)


def message_text(payload: bytes) -> str | None:
    """The text of a text frame's message (None for a frame that is no JSON object)."""
    try:
        frame = json.loads(payload)
    except ValueError:
        return None
    return str(frame["envelope"]["dataMessage"]["message"]) if isinstance(frame, dict) else None


def pending_texts(service: RunningService) -> list[str]:
    return [m.message["envelope"]["dataMessage"]["message"] for m in pending(service, ALICE)]


def assert_closed_as_stuck(frames: list[tuple[int, bytes]]) -> None:
    """The last frame the server sent is its close for a client that did not read in time."""
    opcode, payload = frames[-1]
    assert (opcode, struct.unpack(">H", payload[:2])[0], payload[2:]) == (
        0x8,
        1011,
        b"the client did not read in time",
    )


def assert_next_websocket_gets(service: RunningService, sent: list[str]) -> None:
    """A new websocket gets exactly `sent`, in order, and the inbox counts them delivered."""
    with connect(f"{service.ws_url}/v1/receive/{ALICE}", open_timeout=10) as ws:
        assert texts([next_frame(ws) for _ in sent]) == sent
        assert_silent(ws)
    assert_all_delivered(service, ALICE)


def _parse(frames: list[tuple[int, bytes]], data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    while len(data) >= 2:
        opcode, length, at = data[0] & 0x0F, data[1] & 0x7F, 2
        if length == 126:
            (length,), at = struct.unpack(">H", data[2:4]), 4
        elif length == 127:
            (length,), at = struct.unpack(">Q", data[2:10]), 10
        if len(data) < at + length:
            break
        frames.append((opcode, data[at : at + length]))
        data = data[at + length :]
    return frames, data


@pytest.fixture
def stuck_service(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> Iterator[Callable[..., RunningService]]:
    """Starts the service with the given settings, ALICE registered; stopped after the test,
    which fails if the service logged an error: clients that go away or get stuck are no fault
    of the service."""
    started: list[RunningService] = []

    def start(**settings: Any) -> RunningService:
        service = start_service(tmp_path / "data", **settings)
        started.append(service)
        register(service.client, ALICE)
        return service

    yield start
    for service in started:
        service.stop()
    gc.collect()  # a future whose error nobody read is logged when it is collected
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    errors = [(r.name, r.getMessage()) for r in records if r.levelno >= logging.ERROR]
    assert errors == []


@pytest.fixture
def stuck_client() -> Iterator[Callable[[RunningService, str], StuckClient]]:
    """Opens websockets that never read; their sockets are closed after the test."""
    opened: list[StuckClient] = []

    def open_(service: RunningService, path: str) -> StuckClient:
        opened.append(StuckClient(service, path))
        return opened[-1]

    yield open_
    for client in opened:
        client.close()


def test_receive_abandoned_long_poll_takes_nothing(accounts: RunningService) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{accounts.url}/v1/receive/{ALICE}", params={"timeout": "30"}, timeout=1)
    ts = send_from_outside(accounts, ALICE, "after the client gave up")

    wait_until(lambda: bool(pending(accounts, ALICE)), "the message to be stored")
    # The abandoned poll (still within its 30 s) took nothing: the message stays pending.
    [stored] = pending(accounts, ALICE)
    assert stored.message["envelope"]["timestamp"] == ts
    later = accounts.client.get(f"/v1/receive/{ALICE}", params={"timeout": "5"})
    assert later.status_code == 200
    assert [(m["envelope"]["timestamp"], texts([m])) for m in later.json()] == [
        (ts, ["after the client gave up"])
    ]
    assert_all_delivered(accounts, ALICE)


def test_receive_stuck_websocket_does_not_starve_rest_polls(
    stuck_service: Callable[..., RunningService],
    stuck_client: Callable[[RunningService, str], StuckClient],
) -> None:
    bound = 100
    service = stuck_service(websocket_queue=bound, websocket_write_timeout=120)
    stuck = stuck_client(service, f"/v1/receive/{ALICE}")
    polled: list[dict[str, Any]] = []
    stop_polling = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            while not stop_polling.is_set():
                response = client.get(f"/v1/receive/{ALICE}", params={"timeout": "1"})
                assert response.status_code == 200, response.text
                polled.extend(response.json())

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        sent = []
        for i in range(2000):
            sent.append(f"message {i}")
            send_from_outside(service, ALICE, sent[-1])
            if i % 100 == 99:
                [stream] = streams(service, ALICE)
                assert len(stream._held) <= bound  # queued, or sent and not confirmed
        # Everything the stuck socket could not take went to the poller, the socket still open.
        wait_until(lambda: len(polled) == len(sent) - bound, "the poller to get the rest")
        [stream] = streams(service, ALICE)
        assert len(stream._held) == bound
    finally:
        stop_polling.set()
        poller.join(timeout=30)
    stuck.close()  # without reading: what sits in its buffers was never delivered
    wait_until(lambda: not streams(service, ALICE), "the server to notice")

    with connect(f"{service.ws_url}/v1/receive/{ALICE}", open_timeout=10) as ws:
        taken_over = [next_frame(ws) for _ in range(bound)]
        assert_silent(ws)
    received = texts(polled) + texts(taken_over)
    assert sorted(received) == sorted(sent)  # each exactly once
    # Oldest first. Which ones they are is a race: a poll may claim a new message between its
    # write and its hand-out to the stuck stream, so the stream held the first `bound` of the
    # messages no poll took.
    polled_texts = set(texts(polled))
    assert texts(taken_over) == [t for t in sent if t not in polled_texts]
    assert_all_delivered(service, ALICE)


def test_receive_websocket_that_stops_reading_is_closed_after_the_write_timeout(
    stuck_service: Callable[..., RunningService],
    stuck_client: Callable[[RunningService, str], StuckClient],
) -> None:
    bound = 20
    service = stuck_service(websocket_queue=bound, websocket_write_timeout=1)
    stuck = stuck_client(service, f"/v1/receive/{ALICE}")
    sent = [f"message {i}" for i in range(bound + 5)]
    for text in sent:
        send_from_outside(service, ALICE, text)
    wait_until(lambda: not streams(service, ALICE), "the write timeout to close the socket")

    frames = stuck.read_to_close()
    assert_closed_as_stuck(frames)
    assert 0 < len([f for f in frames if f[0] == 0x1]) <= bound
    # The frames it had in its buffers were never confirmed: the next consumer gets them.
    wait_until(lambda: len(pending(service, ALICE)) == len(sent), "every message to be stored")
    assert_next_websocket_gets(service, sent)


def test_receive_websocket_sends_new_messages_while_its_pings_wait_for_their_pongs(
    stuck_service: Callable[..., RunningService],
) -> None:
    # A client far away answers each ping a round trip later: messages that arrive meanwhile
    # still go out at once, and count as delivered once the pongs come.
    service = stuck_service()
    client = SilentClient(service, f"/v1/receive/{ALICE}")
    try:
        send_from_outside(service, ALICE, "first")
        client.read_until(texts=1, pings=1)
        send_from_outside(service, ALICE, "second")
        frames = client.read_until(texts=2, pings=2)  # the first ping is not answered yet
        assert [(opcode, message_text(payload)) for opcode, payload in frames] == [
            (0x1, "first"),
            (0x9, None),
            (0x1, "second"),
            (0x9, None),
        ]
        assert len(pending(service, ALICE)) == 2
        for opcode, payload in frames:
            if opcode == 0x9:
                client.pong(payload)
        wait_until(lambda: not pending(service, ALICE), "both messages to count as delivered")
        assert len(streams(service, ALICE)) == 1  # still open
    finally:
        client.close()


def test_receive_websocket_whose_pongs_do_not_come_is_closed_and_its_frames_sent_again(
    stuck_service: Callable[..., RunningService],
) -> None:
    service = stuck_service(websocket_write_timeout=1)
    client = SilentClient(service, f"/v1/receive/{ALICE}")
    sent = ["first", "second"]
    try:
        send_from_outside(service, ALICE, sent[0])
        client.read_until(texts=1)
        send_from_outside(service, ALICE, sent[1])
        client.read_until(texts=2)
        wait_until(lambda: not streams(service, ALICE), "the missing pong to close the socket")
        frames = client.read_to_close()
    finally:
        client.close()
    assert_closed_as_stuck(frames)
    # Read, but never confirmed: the next consumer gets them again.
    assert [
        m.message["envelope"]["dataMessage"]["message"] for m in pending(service, ALICE)
    ] == sent
    assert_next_websocket_gets(service, sent)


def test_receive_websocket_pings_after_each_half_bound_and_holds_its_bound_until_a_pong(
    stuck_service: Callable[..., RunningService],
) -> None:
    # A backlog goes out in bursts of half the bound, a ping after each; with the bound out and
    # unanswered the socket sends nothing more. One pong answers its ping and every earlier one.
    service = stuck_service(websocket_queue=4)
    sent = [f"message {i}" for i in range(6)]
    for text in sent:
        send_from_outside(service, ALICE, text)
    wait_until(lambda: len(pending(service, ALICE)) == len(sent), "every message to be stored")
    client = SilentClient(service, f"/v1/receive/{ALICE}")
    try:
        frames = client.read_until(texts=4, pings=2)
        assert [(opcode, message_text(payload)) for opcode, payload in frames] == [
            (0x1, "message 0"),
            (0x1, "message 1"),
            (0x9, None),
            (0x1, "message 2"),
            (0x1, "message 3"),
            (0x9, None),
        ]
        [stream] = streams(service, ALICE)
        assert (stream.queued, stream.held, len(pending(service, ALICE))) == (0, 4, 6)

        client.pong(frames[5][1])  # the second ping only
        frames = client.read_until(texts=6, pings=3)
        assert [(opcode, message_text(payload)) for opcode, payload in frames[6:]] == [
            (0x1, "message 4"),
            (0x1, "message 5"),
            (0x9, None),
        ]
        wait_until(
            lambda: pending_texts(service) == ["message 4", "message 5"],
            "the second pong to deliver the first four",
        )
        client.pong(frames[8][1])
        wait_until(lambda: not pending(service, ALICE), "the last pong to deliver the rest")
        assert streams(service, ALICE) == [stream]
    finally:
        client.close()


def big_backlog(stuck_service: Callable[..., RunningService]) -> tuple[RunningService, list[str]]:
    """A service (bound 100, write timeout 1 s) with 20 stored messages of 200 kB each: enough
    to fill a client's socket buffers; and their texts."""
    service = stuck_service(websocket_queue=100, websocket_write_timeout=1)
    sent = [f"{i} " + "x" * 200_000 for i in range(20)]
    for text in sent:
        send_from_outside(service, ALICE, text)
    wait_until(lambda: len(pending(service, ALICE)) == len(sent), "every message to be stored")
    return service, sent


def test_receive_websocket_stuck_client_is_cut_off_when_it_does_not_answer_the_close(
    stuck_service: Callable[..., RunningService],
    stuck_client: Callable[[RunningService, str], StuckClient],
) -> None:
    # Its close frame sits behind full buffers; uvicorn's close timeout (10 s) later the
    # connection is aborted, so a client that never reads again holds no socket or buffers.
    service, sent = big_backlog(stuck_service)
    stuck_client(service, f"/v1/receive/{ALICE}")
    wait_until(lambda: not streams(service, ALICE), "the write timeout to close the socket")
    assert websocket_connections(service) == 1  # closed, the close not answered
    wait_until(lambda: websocket_connections(service) == 0, "the close timeout to cut it off")
    assert len(pending(service, ALICE)) == len(sent)


def test_receive_websocket_with_a_bound_of_two_pings_after_each_frame(
    stuck_service: Callable[..., RunningService],
) -> None:
    # Half of two is one: each frame is a burst of its own, confirmed by its own ping.
    service = stuck_service(websocket_queue=2)
    for text in ("one", "two"):
        send_from_outside(service, ALICE, text)
    wait_until(lambda: len(pending(service, ALICE)) == 2, "both messages to be stored")
    client = SilentClient(service, f"/v1/receive/{ALICE}")
    try:
        frames = client.read_until(texts=2, pings=2)
        assert [(opcode, message_text(payload)) for opcode, payload in frames] == [
            (0x1, "one"),
            (0x9, None),
            (0x1, "two"),
            (0x9, None),
        ]
        client.pong(frames[1][1])
        wait_until(lambda: pending_texts(service) == ["two"], "the first pong to deliver one")
    finally:
        client.close()


def max_messages_client(service: RunningService) -> SilentClient:
    """Three messages stored, and a client that asked for two of them has read both and the
    ping after them (not answered)."""
    for text in ("one", "two", "three"):
        send_from_outside(service, ALICE, text)
    wait_until(lambda: len(pending(service, ALICE)) == 3, "every message to be stored")
    client = SilentClient(service, f"/v1/receive/{ALICE}?max_messages=2")
    frames = client.read_until(texts=2, pings=1)
    assert [(opcode, message_text(payload)) for opcode, payload in frames] == [
        (0x1, "one"),
        (0x1, "two"),
        (0x9, None),
    ]
    return client


def test_receive_websocket_max_messages_count_when_the_client_closes_without_a_pong(
    stuck_service: Callable[..., RunningService],
) -> None:
    # As pysignalclirestapi: it has what it asked for and closes, the ping not read or answered.
    service = stuck_service()
    client = max_messages_client(service)
    try:
        client.send_close(1000)
        frames = client.read_to_close()
    finally:
        client.close()
    assert frames[3:] == [(0x8, struct.pack(">H", 1000))]
    wait_until(lambda: not streams(service, ALICE), "the server to end the websocket")
    wait_until(lambda: pending_texts(service) == ["three"], "the two to count as read")


def test_receive_websocket_max_messages_not_confirmed_when_the_connection_just_breaks(
    stuck_service: Callable[..., RunningService],
) -> None:
    # No pong and no close frame: the client may not have read them; the next one gets them.
    service = stuck_service()
    client = max_messages_client(service)
    client.close()
    wait_until(lambda: not streams(service, ALICE), "the server to notice")
    assert pending_texts(service) == ["one", "two", "three"]
    with connect(f"{service.ws_url}/v1/receive/{ALICE}", open_timeout=10) as ws:
        assert texts([next_frame(ws) for _ in range(3)]) == ["one", "two", "three"]
        assert_silent(ws)
    assert_all_delivered(service, ALICE)


def test_receive_websocket_max_messages_whose_pong_and_close_do_not_come_is_closed(
    stuck_service: Callable[..., RunningService],
) -> None:
    service = stuck_service(websocket_write_timeout=1)
    client = max_messages_client(service)
    try:
        wait_until(lambda: not streams(service, ALICE), "the missing pong to close the socket")
        frames = client.read_to_close()
    finally:
        client.close()
    assert len(frames) == 4  # two frames, the ping, the close
    assert_closed_as_stuck(frames)
    assert pending_texts(service) == ["one", "two", "three"]


def test_receive_websocket_stuck_with_full_buffers_still_gets_its_close_frame(
    stuck_service: Callable[..., RunningService],
    stuck_client: Callable[[RunningService, str], StuckClient],
) -> None:
    # Frames big enough to fill the socket buffers: the server cannot write more, and its close
    # frame must not wait behind them (ASGI's close would, for as long as the client is stuck).
    # Sent as a backlog within the bound, no ping follows until the last of them: only the
    # write timeout tells the client is stuck.
    service, sent = big_backlog(stuck_service)
    stuck = stuck_client(service, f"/v1/receive/{ALICE}")
    wait_until(lambda: not streams(service, ALICE), "the write timeout to close the socket")

    frames = stuck.read_to_close()
    assert_closed_as_stuck(frames)
    read = [message_text(frame) for op, frame in frames if op == 0x1]
    assert read and read == sent[: len(read)]
    # None was confirmed: the next consumer gets them all.
    wait_until(lambda: len(pending(service, ALICE)) == len(sent), "every message to be pending")
    assert_next_websocket_gets(service, sent)


def test_receive_websocket_done_with_max_messages_leaves_the_rest_to_the_next_in_order(
    stuck_service: Callable[..., RunningService],
) -> None:
    # The first websocket has its two and has not closed yet: what is left, and what arrives
    # meanwhile, goes to the client's next websocket at once and oldest first.
    service = stuck_service()
    first = max_messages_client(service)
    try:
        send_from_outside(service, ALICE, "four")
        with connect(f"{service.ws_url}/v1/receive/{ALICE}", open_timeout=10) as ws:
            assert texts([next_frame(ws), next_frame(ws)]) == ["three", "four"]
            send_from_outside(service, ALICE, "five")
            assert texts([next_frame(ws)]) == ["five"]
            assert_silent(ws)
    finally:
        first.close()  # gone without a close frame: its two were never confirmed
    wait_until(lambda: pending_texts(service) == ["one", "two"], "the first's two to be pending")
