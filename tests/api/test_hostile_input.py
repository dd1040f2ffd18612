"""Hostile input is cheap: deep JSON, big bodies, slow headers and bodies, too many connections
and a process out of file descriptors are refused early, over real sockets to the real service.

Timeouts are set small through the settings; every wait is on something observable (an answer,
a closed connection, the server's connection count) with a generous upper bound.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.flows import ALICE, register
from tests.support.service import RunningService, start_service

NESTED_TOO_DEEP = {"error": "Couldn't process request - JSON nested deeper than 64 levels"}
SMALL_LIMIT = {"error": "Request body is larger than the limit of 1048576 bytes"}


def nested(depth: int) -> bytes:
    return b'{"x": ' + b"[" * depth + b"]" * depth + b"}"


def connect(service: RunningService) -> socket.socket:
    return socket.create_connection(("127.0.0.1", service.port), timeout=20)


def read_until_closed(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (20 s at most)."""
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


def read_answer(conn: socket.socket) -> tuple[int, bytes, dict[str, object]]:
    """One HTTP answer with a Content-Length: (status, head, JSON body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, f"closed without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    assert match, head
    while len(body) < int(match.group(1)):
        chunk = conn.recv(65536)
        assert chunk, f"closed in the body: {data!r}"
        body += chunk
    return int(head.split(b" ")[1]), head, json.loads(body)


def has_header(head: bytes, line: bytes) -> bool:
    return line.lower() in head.lower().split(b"\r\n")


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def open_connections(service: RunningService) -> int:
    return len(service.server.server_state.connections)


# --- JSON nesting ------------------------------------------------------------------------------


def trickle_until_answered(conn: socket.socket, byte: bytes) -> bytes:
    """Send `byte` every 20 ms until the server answers and closes; what it answered (b"" when
    it reset the connection while a byte was on its way, instead of sending the 408)."""
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            readable, _, _ = select.select([conn], [], [], 0.02)
            if readable:
                return read_until_closed(conn)
            conn.sendall(byte)
    except (ConnectionResetError, BrokenPipeError):
        return b""
    raise AssertionError("the server never cut off a request trickling in")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/send"),
        ("POST", "/v1/send"),
        ("POST", f"/v1/groups/{ALICE}"),
        ("PUT", f"/v1/groups/{ALICE}/group.YWJjPQ=="),
        ("POST", f"/v1/groups/{ALICE}/group.YWJjPQ==/members"),
        ("POST", f"/v1/register/{ALICE}"),
        ("POST", "/v1/sandbox/send"),
        ("PUT", f"/v1/sandbox/numbers/{ALICE}"),
    ],
)
@pytest.mark.parametrize("depth", [65, 480, 100_000])
def test_json_route_refuses_deep_nesting_without_a_traceback(
    accounts: RunningService,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    depth: int,
) -> None:
    with caplog.at_level(logging.WARNING):
        response = accounts.client.request(method, path, content=nested(depth))
    assert (response.status_code, response.json()) == (400, NESTED_TOO_DEEP)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_send_accepts_nesting_at_the_limit_and_brackets_in_strings(
    accounts: RunningService,
) -> None:
    # 63 levels inside the body's object is 64 in all; text full of brackets is no structure.
    body = {
        "number": ALICE,
        "recipients": ["+4915100000002"],
        "message": "[{" * 500,
        "unknown": json.loads(b"[" * 63 + b"]" * 63),
    }
    response = accounts.client.post("/v2/send", json=body)
    assert response.status_code == 201, response.text
    assert list(response.json()[0]) == ["timestamp"]


def test_send_refuses_mixed_nesting_one_over_the_limit(accounts: RunningService) -> None:
    inner = b'[{"a":' * 32 + b"1" + b"}]" * 32  # 64 levels, inside the body's object: 65
    body = b'{"number": "' + ALICE.encode() + b'", "message": "hi", "x": ' + inner + b"}"
    response = accounts.client.post("/v2/send", content=body)
    assert (response.status_code, response.json()) == (400, NESTED_TOO_DEEP)


def test_max_json_depth_is_a_setting(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data", max_json_depth=3)
    try:
        response = service.client.post(f"/v1/register/{ALICE}", content=nested(3))
        assert response.json() == {
            "error": "Couldn't process request - JSON nested deeper than 3 levels"
        }
        ok = service.client.post(f"/v1/register/{ALICE}", content=nested(2))
        assert ok.status_code == 201, ok.text
    finally:
        service.stop()


# --- body size ---------------------------------------------------------------------------------


def test_small_route_refuses_a_declared_length_over_its_limit_before_reading(
    accounts: RunningService,
) -> None:
    with connect(accounts) as conn:
        # Two megabytes announced, none sent: the answer cannot wait for them.
        conn.sendall(
            f"POST /v1/groups/{ALICE} HTTP/1.1\r\nHost: localhost\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 2000000\r\n\r\n".encode()
        )
        status, _, body = read_answer(conn)
    assert (status, body) == (413, SMALL_LIMIT)


def test_small_route_refuses_a_chunked_body_once_it_passes_its_limit(
    accounts: RunningService,
) -> None:
    with connect(accounts) as conn:
        conn.sendall(
            f"POST /v1/groups/{ALICE} HTTP/1.1\r\nHost: localhost\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b" " * 65536
        # 1.5 MiB of a 2 MB body, and the last chunk never comes: only a service that stops
        # reading at the limit can answer.
        conn.sendall((b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 24)
        status, _, body = read_answer(conn)
    assert (status, body) == (413, SMALL_LIMIT)


def test_send_route_keeps_the_large_limit(accounts: RunningService) -> None:
    # Two megabytes of base64 attachment are over the small limit and fine for /v2/send.
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 1_500_000
    body = {
        "number": ALICE,
        "recipients": ["+4915100000002"],
        "message": "big",
        "base64_attachments": [base64.b64encode(png).decode()],
    }
    response = accounts.client.post("/v2/send", json=body)
    assert response.status_code == 201, response.text


# --- header and body deadlines -----------------------------------------------------------------


@pytest.fixture
def quick(tmp_path: Path) -> Iterator[RunningService]:
    """The service with half-second header and body deadlines."""
    running = start_service(tmp_path / "data", header_timeout=0.5, body_timeout=0.5)
    try:
        yield running
    finally:
        running.stop()


def test_half_sent_headers_get_408_and_a_closed_connection(quick: RunningService) -> None:
    with connect(quick) as conn:
        conn.sendall(b"GET /v1/about HTTP/1.1\r\nHost: localhost\r\n")  # and nothing more
        answer = read_until_closed(conn)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert has_header(head, b"connection: close")
    assert json.loads(body) == {"error": "The request headers did not arrive within 0.5 seconds"}


def test_a_connection_that_sends_nothing_is_closed(quick: RunningService) -> None:
    with connect(quick) as conn:
        assert read_until_closed(conn) == b""


def test_trickled_headers_of_a_second_request_close_the_connection(
    quick: RunningService,
) -> None:
    with connect(quick) as conn:
        conn.sendall(b"GET /v1/about HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, _, _ = read_answer(conn)
        assert status == 200
        # The next request's headers come a byte every 20 ms, forever: each byte would reset
        # a keep-alive timer, but not the header deadline.
        conn.sendall(b"GET /v1/about HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        answer = trickle_until_answered(conn, b"a")
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer


def test_a_stalled_body_gets_408_and_a_closed_connection(quick: RunningService) -> None:
    register(quick.client, ALICE)
    with connect(quick) as conn:
        conn.sendall(
            f"POST /v1/groups/{ALICE} HTTP/1.1\r\nHost: localhost\r\n"
            "Content-Type: application/json\r\n"
            'Content-Length: 100\r\n\r\n{"name": '.encode()
        )
        answer = read_until_closed(conn)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert has_header(head, b"connection: close")
    assert json.loads(body) == {"error": "The request body did not arrive within 0.5 seconds"}


def test_a_trickled_body_cannot_extend_its_deadline(quick: RunningService) -> None:
    register(quick.client, ALICE)
    with connect(quick) as conn:
        conn.sendall(
            f"POST /v1/groups/{ALICE} HTTP/1.1\r\nHost: localhost\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n".encode()
        )
        answer = trickle_until_answered(conn, b" ")
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer


def test_slow_but_timely_requests_are_served(quick: RunningService) -> None:
    # Deadlines count per request: a keep-alive connection serves request after request.
    with connect(quick) as conn:
        for _ in range(3):
            conn.sendall(b"GET /v1/about HTTP/1.1\r\nHost: localhost\r\n\r\n")
            status, _, body = read_answer(conn)
            assert (status, body["mode"]) == (200, "json-rpc")


# --- connection cap ----------------------------------------------------------------------------


def test_connections_over_the_cap_are_refused_at_once(tmp_path: Path) -> None:
    # (A long header deadline: the two idle connections must stay for the whole test.)
    service = start_service(tmp_path / "data", max_connections=2, header_timeout=120)
    try:
        first, second = connect(service), connect(service)
        wait_for(lambda: open_connections(service) == 2, "two open connections")
        with connect(service) as third:
            answer = read_until_closed(third)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), answer
        assert has_header(head, b"connection: close")
        assert json.loads(body) == {"error": "Too many open connections, try later"}

        first.close()
        wait_for(lambda: open_connections(service) == 1, "the first connection to close")
        assert service.client.get("/v1/about").status_code == 200
        second.close()
    finally:
        service.stop()


def test_websockets_count_towards_the_cap(tmp_path: Path) -> None:
    from websockets.sync.client import connect as ws_connect

    service = start_service(tmp_path / "data", max_connections=1, header_timeout=120)
    try:
        with httpx.Client(base_url=service.url) as client:
            register(client, ALICE)
        wait_for(lambda: open_connections(service) == 0, "the registering connection to close")
        with ws_connect(f"{service.ws_url}/v1/receive/{ALICE}", open_timeout=20):
            wait_for(lambda: open_connections(service) == 1, "the websocket")
            with connect(service) as other:
                assert read_until_closed(other).startswith(b"HTTP/1.1 503 ")
    finally:
        service.stop()


# --- out of file descriptors -------------------------------------------------------------------


def _low_fd_limit(limit: int) -> Callable[[], None]:
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def _serve_with_few_descriptors(
    data_dir: Path, limit: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """`signal-rest serve --sandbox` on a free port, allowed `limit` open files."""
    argv = [sys.executable, "-m", "signal_rest", "serve", "--sandbox", "--port=0"]
    return subprocess.Popen(
        [*argv, f"--data-dir={data_dir}"],
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        preexec_fn=_low_fd_limit(limit),
    )


def _port(proc: subprocess.Popen[bytes], log: list[bytes]) -> int:
    """The port `proc` says it serves on; the lines of its stderr read meanwhile go to `log`."""
    assert proc.stderr is not None
    while True:
        line = proc.stderr.readline()
        assert line, b"".join(log)[-3000:]
        log.append(line)
        if match := re.search(rb"running on http://127\.0\.0\.1:(\d+)", line):
            return int(match.group(1))


@pytest.mark.parametrize("event_loop", ["asyncio", "uvloop"])
def test_running_out_of_descriptors_logs_once_and_recovers(tmp_path: Path, event_loop: str) -> None:
    # A cap above what 64 descriptors can hold, so that accept() itself fails.
    env = {"SIGNAL_REST_MAX_CONNECTIONS": "1000", "SIGNAL_REST_EVENT_LOOP": event_loop}
    proc = _serve_with_few_descriptors(tmp_path / "data", 64, env)
    assert proc.stderr is not None
    log: list[bytes] = []
    try:
        port = _port(proc, log)
        # Far more idle connections than descriptors: the service accepts until it has none.
        idle = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(120)]
        if event_loop == "asyncio":
            while b"accept" not in log[-1]:
                line = proc.stderr.readline()
                assert line, b"".join(log)[-3000:]
                log.append(line)
            # asyncio retries the listening socket every second; let it fail again first.
            time.sleep(1.5)
        else:
            # libuv takes what it has no descriptor for and closes it at once, unlogged.
            assert idle[-1].recv(1) == b""
        for conn in idle:
            conn.close()
        deadline = time.monotonic() + 20
        while True:
            try:
                about = httpx.get(f"http://127.0.0.1:{port}/v1/about", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the service did not recover"
                time.sleep(0.1)
        assert about.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[1]
    stderr = b"".join(log) + rest
    accept_lines = [line for line in stderr.splitlines() if b"accept" in line]
    logged = (1, 3) if event_loop == "asyncio" else (0, 0)
    assert logged[0] <= len(accept_lines) <= logged[1], stderr[-3000:]
    assert b"Traceback" not in stderr, stderr[-3000:]


@pytest.mark.parametrize(
    "request_head",
    [
        pytest.param(b"NOT HTTP AT ALL\r\n\r\n", id="broken-request-line"),
        pytest.param(b"GET /v1/about HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", id="two-hosts"),
    ],
)
def test_unparsable_request_gets_the_json_error_body(
    service: RunningService, request_head: bytes
) -> None:
    with connect(service) as conn:
        conn.sendall(request_head)
        answer = read_until_closed(conn)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer
    assert has_header(head, b"content-type: application/json")
    assert has_header(head, b"connection: close")
    assert json.loads(body) == {"error": "Malformed HTTP request: Invalid HTTP request received"}


def test_the_default_connection_cap_keeps_a_quarter_of_the_open_file_limit(
    tmp_path: Path,
) -> None:
    # With 256 descriptors the cap is 192: the rest is kept for SQLite, the daemon, files.
    proc = _serve_with_few_descriptors(
        tmp_path / "data", 256, {"SIGNAL_REST_HEADER_TIMEOUT": "120"}
    )
    log: list[bytes] = []
    idle: list[socket.socket] = []
    try:
        port = _port(proc, log)
        idle = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(192)]
        # Each idle connection is served (it gets a 408 only after 120 s); one more is refused.
        with socket.create_connection(("127.0.0.1", port), timeout=20) as over:
            answer = read_until_closed(over)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), answer
        assert json.loads(body) == {"error": "Too many open connections, try later"}
        for conn in idle:  # accepted before it, each still open and unanswered
            conn.setblocking(False)
            with pytest.raises(BlockingIOError):
                conn.recv(1)
        idle.pop().close()
        deadline = time.monotonic() + 20
        while True:
            about = httpx.get(f"http://127.0.0.1:{port}/v1/about", timeout=5)
            if about.status_code == 200:
                break
            assert time.monotonic() < deadline, "the freed slot was not given to a new client"
    finally:
        for conn in idle:
            conn.close()
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[1]
    stderr = b"".join(log) + rest
    assert b"accept" not in stderr and b"Traceback" not in stderr, stderr[-3000:]
