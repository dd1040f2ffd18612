"""`GET /api/v1/events`, signal-cli's Server-Sent Events stream, over real HTTP on the sandbox.

Messages come from an outside Signal user through the sandbox. The service under test sends a
keep-alive every 0.3 s (signal-cli: 15 s), so a read never waits long; the real daemon's framing
and interval are compared in tests/api/test_signal_cli_http_realcli.py.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_websocket import expected_frame, send_from_outside
from tests.support.flows import ALICE, BOB, register
from tests.support.service import RunningService, start_service
from tests.support.tokens import bearer, create_token, token_cli

KEEPALIVE = 0.3


@dataclass(frozen=True)
class Event:
    raw: bytes  # every byte of the event, its blank line included
    id: int
    data: dict[str, Any]


class EventReader:
    """Reads an event stream as it comes: events in order, and the keep-alive comments."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.raw = b""  # everything read so far
        self.keepalives = 0
        self._chunks = response.iter_raw()
        self._lines: list[bytes] = []
        self._rest = b""
        self._events: list[Event] = []

    def next(self, timeout: float = 10) -> Event:
        deadline = time.monotonic() + timeout
        while not self._events:
            assert time.monotonic() < deadline, f"no event within {timeout} s: {self.raw!r}"
            self._read()
        return self._events.pop(0)

    def take(self, count: int) -> list[Event]:
        return [self.next() for _ in range(count)]

    def wait_keepalives(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.keepalives < count:
            assert time.monotonic() < deadline, f"{self.keepalives} keep-alives: {self.raw!r}"
            self._read()

    def assert_quiet(self, seconds: float = 1.0) -> None:
        """No event arrives for `seconds` (keep-alives do)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._read()
        assert self._events == [], self._events

    def read_to_end(self) -> list[Event]:
        """Read until the server ends the response (an end that is not clean raises); the
        events not taken yet."""
        for chunk in self._chunks:
            self._parse(chunk)
        rest, self._events = self._events, []
        return rest

    def _read(self) -> None:
        self._parse(next(self._chunks))

    def _parse(self, chunk: bytes) -> None:
        self._rest += chunk
        while b"\n" in self._rest:
            line, _, self._rest = self._rest.partition(b"\n")
            self.raw += line + b"\n"
            if line == b":" and not self._lines:
                self.keepalives += 1
            elif line:
                self._lines.append(line)
            else:
                self._events.append(_event(self._lines))
                self._lines = []


def _event(lines: list[bytes]) -> Event:
    fields = dict(line.split(b":", 1) for line in lines)
    assert [line.split(b":", 1)[0] for line in lines] == [b"id", b"event", b"data"], lines
    assert fields[b"event"] == b"receive"
    raw = b"".join(line + b"\n" for line in lines) + b"\n"
    return Event(raw, int(fields[b"id"]), json.loads(fields[b"data"]))


@pytest.fixture
def events_service(tmp_path: Path) -> Iterator[RunningService]:
    service = start_service(tmp_path / "data", events_keepalive=KEEPALIVE)
    try:
        register(service.client, ALICE)
        register(service.client, BOB)
        yield service
    finally:
        service.stop()


@pytest.fixture
def open_events(events_service: RunningService) -> Iterator[Any]:
    """Opens event streams on the service; closes them after the test."""
    with contextlib.ExitStack() as opened:

        def open_(query: str = "", headers: dict[str, str] | None = None) -> EventReader:
            stream = events_service.client.stream(
                "GET", f"/api/v1/events{query}", headers=headers or {}
            )
            response = opened.enter_context(stream)
            assert response.status_code == 200, response.read()
            return EventReader(response)

        yield open_


def frame(event_id: int, message: dict[str, Any]) -> bytes:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    return b"id:%d\nevent:receive\ndata:%s\n\n" % (event_id, data)


def inbox_ids(service: RunningService, account: str = "*") -> list[int]:
    stored = service.run(service.backend.inbox.store.after(account, 0))
    return [m.id for m in stored]


def stored_ids(service: RunningService, count: int) -> list[int]:
    """The inbox ids of the first `count` messages, once that many have reached the inbox."""
    deadline = time.monotonic() + 10
    while len(ids := inbox_ids(service)) < count:
        assert time.monotonic() < deadline, f"{len(ids)} of {count} messages in the inbox"
        time.sleep(0.02)
    return ids[:count]


def positions(service: RunningService) -> dict[tuple[str, str], int]:
    states = service.run(service.backend.inbox.consumers.states(stale_after=3600))
    return {(s.name, s.account): s.position for s in states}


def connected(service: RunningService) -> dict[tuple[str, str], bool]:
    states = service.run(service.backend.inbox.consumers.states(stale_after=3600))
    return {(s.name, s.account): s.connected for s in states}


def texts(events: list[Event]) -> list[str]:
    return [e.data["envelope"]["dataMessage"]["message"] for e in events]


def test_each_message_is_one_receive_event_with_the_message_as_the_poll_returns_it(
    events_service: RunningService, open_events: Any
) -> None:
    reader = open_events()
    assert reader.response.headers["content-type"] == "text/event-stream"
    assert reader.response.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in reader.response.headers
    ts = send_from_outside(events_service, ALICE, "über SSE ✓")

    event = reader.next()
    polled = events_service.client.get(f"/v1/receive/{ALICE}", params={"timeout": "0"}).json()
    assert polled == [expected_frame(polled[0], account=ALICE, ts=ts, text="über SSE ✓")]
    assert event.data == polled[0]
    assert list(event.data) == ["envelope", "account"]
    assert [event.id] == inbox_ids(events_service)
    assert event.raw == frame(event.id, polled[0])  # compact JSON, UTF-8, one data line


def test_keep_alive_comments_arrive_on_a_quiet_stream(open_events: Any) -> None:
    reader = open_events()
    reader.wait_keepalives(2)
    assert reader.raw == b":\n:\n"


def test_the_account_parameter_reads_one_account_and_none_reads_every_account(
    events_service: RunningService, open_events: Any
) -> None:
    every = open_events()
    bob = open_events(f"?account=%2B{BOB[1:]}")
    plus = open_events(f"?account={BOB}")  # a literal + is kept
    send_from_outside(events_service, ALICE, "to alice")
    send_from_outside(events_service, BOB, "to bob")

    both = every.take(2)
    assert [(e.data["account"], texts([e])[0]) for e in both] == [
        (ALICE, "to alice"),
        (BOB, "to bob"),
    ]
    for reader in (bob, plus):
        only = reader.next()
        assert only == both[1]
        reader.assert_quiet(0.5)


@pytest.mark.parametrize("how", ["header", "query"])
def test_a_reconnect_after_the_last_event_id_loses_nothing_and_repeats_nothing(
    events_service: RunningService, open_events: Any, how: str
) -> None:
    with events_service.client.stream("GET", "/api/v1/events") as response:
        first = EventReader(response)
        send_from_outside(events_service, ALICE, "m0")
        send_from_outside(events_service, ALICE, "m1")
        seen = first.take(2)
    for i in range(2, 5):
        send_from_outside(events_service, ALICE, f"m{i}")

    last = str(seen[-1].id)
    if how == "header":
        reader = open_events(headers={"Last-Event-ID": last})
    else:
        reader = open_events(f"?last_event_id={last}")
    resumed = reader.take(3)
    assert texts(seen + resumed) == ["m0", "m1", "m2", "m3", "m4"]
    assert [e.id for e in seen + resumed] == inbox_ids(events_service)
    reader.assert_quiet(0.5)


def test_the_header_wins_over_the_query_as_an_event_source_reconnects(
    events_service: RunningService, open_events: Any
) -> None:
    for i in range(3):
        send_from_outside(events_service, ALICE, f"m{i}")
    ids = stored_ids(events_service, 3)
    reader = open_events(f"?last_event_id={ids[0]}", headers={"Last-Event-ID": str(ids[1])})
    assert texts([reader.next()]) == ["m2"]


def test_an_unnamed_stream_starts_with_the_next_message(
    events_service: RunningService, open_events: Any
) -> None:
    send_from_outside(events_service, ALICE, "before")
    stored_ids(events_service, 1)
    reader = open_events()
    send_from_outside(events_service, ALICE, "after")
    assert texts([reader.next()]) == ["after"]


def test_a_stream_reads_the_inbox_while_signal_cli_is_gone(
    events_service: RunningService, open_events: Any
) -> None:
    for i in range(2):
        send_from_outside(events_service, ALICE, f"m{i}")
    first = stored_ids(events_service, 2)[0]
    sandbox = events_service.backend.sandbox
    assert sandbox is not None
    events_service.run(sandbox.close())
    assert events_service.client.get("/api/v1/check").status_code == 503
    # The account can't be checked now: it is taken, and what is stored is served.
    reader = open_events(f"?account=%2B{ALICE[1:]}&last_event_id={first}")
    assert texts([reader.next()]) == ["m1"]


def test_a_named_stream_resumes_after_the_last_event_id_also_behind_what_was_written(
    events_service: RunningService, open_events: Any
) -> None:
    with events_service.client.stream("GET", "/api/v1/events?consumer=ha") as response:
        reader = EventReader(response)
        for i in range(3):
            send_from_outside(events_service, ALICE, f"m{i}")
        ids = stored_ids(events_service, 3)
        assert texts([reader.next()]) == ["m0"]
        # All three were written (the position moves as they are): the client read only one.
        deadline = time.monotonic() + 10
        while positions(events_service) != {("ha", "*"): ids[2]}:
            assert time.monotonic() < deadline, positions(events_service)
            time.sleep(0.02)
    resumed = open_events("?consumer=ha", headers={"Last-Event-ID": str(ids[0])})
    assert texts(resumed.take(2)) == ["m1", "m2"]
    resumed.assert_quiet(0.5)


def test_a_named_consumer_resumes_where_it_was_across_a_restart(tmp_path: Path) -> None:
    service = start_service(tmp_path, events_keepalive=KEEPALIVE)
    try:
        register(service.client, ALICE)
        with (
            httpx.Client(base_url=service.url, timeout=30) as client,
            client.stream("GET", "/api/v1/events?consumer=bot") as response,
        ):
            reader = EventReader(response)
            send_from_outside(service, ALICE, "before")
            assert texts([reader.next()]) == ["before"]
            send_from_outside(service, ALICE, "second")
            assert texts([reader.next()]) == ["second"]
            # The service stops with the stream open: the stream ends with the end of the
            # chunked body (a cut-off one would raise here) and does not hold up the shutdown.
            service.stop()
            reader.read_to_end()
    finally:
        if service.thread.is_alive():
            service.stop()
    service = start_service(tmp_path, events_keepalive=KEEPALIVE)
    try:
        send_from_outside(service, ALICE, "after the restart")
        with service.client.stream("GET", "/api/v1/events?consumer=bot") as response:
            reader = EventReader(response)
            assert texts([reader.next()]) == ["after the restart"]
            reader.assert_quiet(0.5)
        states = service.run(service.backend.inbox.consumers.states(stale_after=3600))
        assert [(s.name, s.account, s.kind, s.position, s.lag) for s in states] == [
            ("bot", "*", "sse", inbox_ids(service)[-1], 0)
        ]
    finally:
        service.stop()


def test_a_named_consumer_gets_what_arrived_while_it_was_away(
    events_service: RunningService, open_events: Any
) -> None:
    with events_service.client.stream("GET", f"/api/v1/events?consumer=ha&account={ALICE}") as r:
        reader = EventReader(r)
        send_from_outside(events_service, ALICE, "m0")
        assert texts([reader.next()]) == ["m0"]
        assert connected(events_service) == {("ha", ALICE): True}
    # The client went away: its stream ends on the server too.
    deadline = time.monotonic() + 10
    while connected(events_service) != {("ha", ALICE): False}:
        assert time.monotonic() < deadline, connected(events_service)
        time.sleep(0.02)
    send_from_outside(events_service, BOB, "not for this one")
    send_from_outside(events_service, ALICE, "m1")
    send_from_outside(events_service, ALICE, "m2")
    reader = open_events(f"?consumer=ha&account={ALICE}")
    assert texts(reader.take(2)) == ["m1", "m2"]
    reader.assert_quiet(0.5)


def test_a_token_for_one_account_sees_only_that_account(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    service = start_service(data_dir, events_keepalive=KEEPALIVE)
    try:
        register(service.client, ALICE)
        register(service.client, BOB)
        alice = create_token(data_dir, "alice", "--scope", "receive", "--account", ALICE)
        sender = create_token(data_dir, "sender", "--scope", "send")
        admin = create_token(data_dir, "admin", "--scope", "admin")
        client = service.client

        refused = client.get("/api/v1/events", params={"account": BOB}, headers=bearer(alice))
        assert (refused.status_code, refused.json()) == (
            403,
            {"error": f"This API token may not act for account {BOB}"},
        )
        wrong_scope = client.get("/api/v1/events", headers=bearer(sender))
        assert (wrong_scope.status_code, wrong_scope.json()) == (
            403,
            {
                "error": "This API token may not use this route: it needs the 'receive' scope "
                "(the token has send)"
            },
        )
        with client.stream("GET", "/api/v1/events", headers=bearer(alice)) as response:
            assert response.status_code == 200
            reader = EventReader(response)
            for number, text in ((BOB, "to bob"), (ALICE, "to alice")):
                sent = client.post(
                    "/v1/sandbox/send",
                    json={"from": "+4915100000009", "recipients": [number], "message": text},
                    headers=bearer(admin),
                )
                assert sent.status_code == 201, sent.text
            assert texts([reader.next()]) == ["to alice"]
            reader.assert_quiet(0.5)
    finally:
        service.stop()


def test_a_stream_passes_the_edge_and_outlives_its_time_limits(tmp_path: Path) -> None:
    # A dashboard on an allowed origin, with request time limits far shorter than the stream.
    dashboard = "https://dash.example"
    service = start_service(
        tmp_path / "data",
        events_keepalive=KEEPALIVE,
        header_timeout=0.5,
        body_timeout=0.5,
        allowed_origins=[dashboard],
    )
    try:
        register(service.client, ALICE)
        headers = {"Origin": dashboard, "Accept": "text/event-stream"}
        with service.client.stream("GET", "/api/v1/events", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == dashboard
            reader = EventReader(response)
            reader.wait_keepalives(5)  # 1.5 s: three times either limit
            ts = send_from_outside(service, ALICE, "still here")
            event = reader.next()
            assert event.data == expected_frame(event.data, account=ALICE, ts=ts, text="still here")
    finally:
        service.stop()


def test_a_client_that_stopped_reading_does_not_hold_up_the_shutdown(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data", events_keepalive=KEEPALIVE)
    stopped = False
    try:
        register(service.client, ALICE)
        with socket.socket() as stuck:
            stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stuck.connect(("127.0.0.1", service.port))
            stuck.sendall(b"GET /api/v1/events?consumer=slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert stuck.recv(15).startswith(b"HTTP/1.1 200")
            # Far more than the socket buffers take; the client reads none of it.
            for i in range(8):
                send_from_outside(service, ALICE, f"{i}" * 500_000)
            stored_ids(service, 8)
            started = time.monotonic()
            service.stop()
            stopped = True
            # uvicorn would wait 10 s for a response that is stuck writing, then cancel it.
            assert time.monotonic() - started < 8
    finally:
        if not stopped:
            service.stop()


def test_a_stream_ends_when_its_token_is_revoked(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    service = start_service(data_dir, events_keepalive=KEEPALIVE)
    try:
        register(service.client, ALICE)
        secret = create_token(data_dir, "reader", "--scope", "receive")
        admin = create_token(data_dir, "admin", "--scope", "admin")

        def send(text: str) -> None:
            body = {"from": "+4915100000009", "recipients": [ALICE], "message": text}
            sent = service.client.post("/v1/sandbox/send", json=body, headers=bearer(admin))
            assert sent.status_code == 201, sent.text

        with service.client.stream("GET", "/api/v1/events", headers=bearer(secret)) as response:
            reader = EventReader(response)
            send("before")
            assert texts([reader.next()]) == ["before"]
            assert token_cli(data_dir, "revoke", "reader").exit_code == 0
            send("after")
            assert reader.read_to_end() == []  # ended cleanly, with nothing more
        refused = service.client.get("/api/v1/events", headers=bearer(secret))
        assert (refused.status_code, refused.json()) == (
            401,
            {"error": "Invalid or revoked API token"},
        )
    finally:
        service.stop()


@pytest.mark.parametrize(
    ("query", "headers", "status", "body"),
    [
        ("?account=%2B4915199999999", {}, 400, b""),  # no such account: signal-cli's answer
        (
            "?consumer=no%20spaces",
            {},
            400,
            {
                "error": "consumer must be 1 to 64 letters, digits or . _ : @ - starting with "
                "a letter or digit, not 'no spaces'"
            },
        ),
        (
            "?last_event_id=-1",
            {},
            400,
            {"error": "last_event_id must be a message id (the `id` of a message), not '-1'"},
        ),
        (
            "",
            {"Last-Event-ID": "abc"},
            400,
            {"error": "Last-Event-ID must be a message id (the `id` of a message), not 'abc'"},
        ),
    ],
    ids=["unknown account", "consumer name", "last_event_id", "Last-Event-ID"],
)
def test_bad_requests_are_refused(
    events_service: RunningService,
    query: str,
    headers: dict[str, str],
    status: int,
    body: Any,
) -> None:
    response = events_service.client.get(f"/api/v1/events{query}", headers=headers)
    assert response.status_code == status
    assert (response.content if body == b"" else response.json()) == body


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/api/v1/events", 405),
        ("PUT", "/api/v1/events", 405),
        ("HEAD", "/api/v1/events", 405),
        ("GET", "/api/v1/events/x", 404),
        ("GET", "/api/v1/eventsx", 404),
    ],
)
def test_other_methods_and_paths_answer_as_signal_cli(
    events_service: RunningService, method: str, path: str, status: int
) -> None:
    response = events_service.client.request(method, path)
    assert (response.status_code, response.content) == (status, b"")
