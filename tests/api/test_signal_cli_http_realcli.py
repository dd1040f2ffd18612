"""Differential: our /api/v1/rpc, /api/v1/check and /api/v1/events (on the sandbox) against the
real signal-cli 0.13.19 started with `daemon --http 127.0.0.1:<free port>`, both with no accounts.

For every case signal-cli answers offline, both must give the same status, the same Content-Type
(or none), the same Content-Length and the same body, byte for byte. With no account, the event
stream carries only keep-alives: its status line, headers and first keep-alive chunk are
compared as they come over the wire (ours with a shorter keep-alive interval).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from signal_rest.config import Settings
from tests.support import realcli
from tests.support.service import RunningService, start_service

pytestmark = pytest.mark.realcli

JSON = "application/json"


def _version(request_id: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "method": "version", "id": request_id}).encode()


# (HTTP method, path, Content-Type or None, body)
CASES: list[tuple[str, str, str | None, bytes]] = [
    ("GET", "/api/v1/check", None, b""),
    ("POST", "/api/v1/check", JSON, b"{}"),
    ("HEAD", "/api/v1/check", None, b""),
    ("GET", "/api/v1/rpc", None, b""),
    ("PUT", "/api/v1/rpc", JSON, _version(1)),
    ("DELETE", "/api/v1/rpc", None, b""),
    ("POST", "/api/v1/rpc", None, _version(1)),
    ("POST", "/api/v1/rpc", "text/plain", _version(1)),
    ("POST", "/api/v1/rpc", JSON, _version(1)),
    ("POST", "/api/v1/rpc", "application/json; charset=utf-8", _version(1)),
    ("POST", "/api/v1/rpc", JSON, _version("abc")),
    ("POST", "/api/v1/rpc", JSON, _version(None)),
    ("POST", "/api/v1/rpc", JSON, _version(1.5)),
    ("POST", "/api/v1/rpc", JSON, _version(1) + b" trailing"),
    ("POST", "/api/v1/rpc", JSON, b'{"jsonrpc":"2.0","method":"listAccounts","id":2}'),
    ("POST", "/api/v1/rpc", JSON, b'{"jsonrpc":"2.0","method":"nope","id":3}'),
    ("POST", "/api/v1/rpc", JSON, b'{"jsonrpc":"2.0","method":"subscribeReceive","id":4}'),
    ("POST", "/api/v1/rpc", JSON, b'{"jsonrpc":"2.0","method":"unsubscribeReceive","id":5}'),
    ("POST", "/api/v1/rpc", JSON, b'{"jsonrpc":"2.0","method":"version"}'),
    ("POST", "/api/v1/rpc", JSON, b'{"jsonrpc":"2.0","method":"nope"}'),
    ("POST", "/api/v1/rpc", JSON, b'{"method":"version"}'),
    ("POST", "/api/v1/rpc", JSON, b'{"jsonrpc":"2.0","id":6}'),
    ("POST", "/api/v1/rpc", JSON, b'{"jsonrpc":"2.0","method":"version","id":7,"x":1}'),
    ("POST", "/api/v1/rpc", JSON, b'{"jsonrpc":"2.0","method":"version","id":8,"params":5}'),
    (
        "POST",
        "/api/v1/rpc",
        JSON,
        b'{"jsonrpc":"2.0","method":"send","id":9,"params":{"account":"+4915112345678"}}',
    ),
    ("POST", "/api/v1/rpc", JSON, b"{bad"),
    ("POST", "/api/v1/rpc", JSON, b'{"jsonrpc":"2.0",'),
    ("POST", "/api/v1/rpc", JSON, b""),
    ("POST", "/api/v1/rpc", JSON, b"5"),
    ("POST", "/api/v1/rpc", JSON, b'"text"'),
    ("POST", "/api/v1/rpc", JSON, b"null"),
    ("POST", "/api/v1/rpc", JSON, b"[]"),
    (
        "POST",
        "/api/v1/rpc",
        JSON,
        b'[{"jsonrpc":"2.0","method":"version","id":1},{"jsonrpc":"2.0","method":"nope","id":"x"},'
        b'{"jsonrpc":"2.0","method":"version"}]',
    ),
    ("POST", "/api/v1/rpc", JSON, b'[{"jsonrpc":"2.0","method":"version"}]'),
    (
        "POST",
        "/api/v1/rpc",
        JSON,
        b'[1,{"jsonrpc":"2.0","method":"version","id":[1]},{"jsonrpc":"2.0","method":"version"}]',
    ),
    ("POST", "/api/v1/events", JSON, b"{}"),
    ("PUT", "/api/v1/events", None, b""),
    ("DELETE", "/api/v1/events", None, b""),
    ("HEAD", "/api/v1/events", None, b""),
    ("GET", "/api/v1/events?account=%2B4915112345678", None, b""),
    ("GET", "/api/v1/events?account=+4915112345678", None, b""),
    ("GET", "/api/v1/events/x", None, b""),
    ("GET", "/api/v1/eventsx", None, b""),
    ("GET", "/api/v1/rpc/x", None, b""),
    ("GET", "/api/v1/checkx", None, b""),
    ("GET", "/api/v1/other", None, b""),
]


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    port = realcli.free_port()
    proc: subprocess.Popen[bytes] = realcli.start_http_daemon(
        tmp_path_factory.mktemp("realcli-http") / "config", port
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    running = start_service(Path(tmp_path_factory.mktemp("ours")) / "data", events_keepalive=0.2)
    try:
        yield running
    finally:
        running.stop()


def _answer(client: httpx.Client, case: tuple[str, str, str | None, bytes]) -> dict[str, Any]:
    method, path, content_type, body = case
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.request(method, path, content=body or None, headers=headers)
    answer: Any = response.content
    if response.content.startswith(b"[{"):
        # signal-cli runs a batch's entries concurrently and answers them in the order they
        # finish, which varies from run to run (ours come in request order): the same answers
        # (and the same Content-Length), in any order.
        entries = json.loads(response.content)
        answer = sorted(json.dumps(entry, separators=(",", ":")) for entry in entries)
    return {
        "status": response.status_code,
        "content-type": response.headers.get("content-type"),
        "content-length": response.headers.get("content-length"),
        "body": answer,
    }


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case[0]} {case[1]} {case[3][:40]!r}")
def test_we_answer_as_signal_cli_daemon_http(
    case: tuple[str, str, str | None, bytes], real: httpx.Client, ours: RunningService
) -> None:
    assert _answer(ours.client, case) == _answer(real, case)


# Headers that differ by nature: the time, our server's name and our request id.
OWN_HEADERS = {b"date", b"server", b"x-request-id"}


def _stream_start(port: int) -> tuple[bytes, dict[bytes, bytes], bytes, float]:
    """GET /api/v1/events over a bare socket: the status line, the headers (names in lower
    case), the first keep-alive as it comes over the wire (a chunk), and when it came."""
    keepalive = b"2\r\n:\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        started = time.monotonic()
        conn.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < len(keepalive):
            received = conn.recv(4096)
            assert received, data
            data += received
        elapsed = time.monotonic() - started
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(b": ")
        if name.lower() not in OWN_HEADERS:
            headers[name.lower()] = value
    return status, headers, body, elapsed


def test_the_event_stream_starts_as_signal_cli_daemon_http(
    real: httpx.Client, ours: RunningService
) -> None:
    real_port = real.base_url.port
    assert real_port is not None
    status, headers, body, elapsed = _stream_start(real_port)
    assert (status, headers, body) == (
        b"HTTP/1.1 200 OK",
        {b"transfer-encoding": b"chunked", b"content-type": b"text/event-stream"},
        b"2\r\n:\n\r\n",
    )
    assert elapsed >= 14.5  # signal-cli's first keep-alive comes after its 15 s interval
    assert Settings().events_keepalive == 15.0  # and so does ours by default
    assert _stream_start(ours.port)[:3] == (status, headers, body)
