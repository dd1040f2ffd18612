"""Differential: our /api/v1/rpc and /api/v1/check (on the sandbox) against the real signal-cli
0.13.19 started with `daemon --http 127.0.0.1:<free port>`, both with no accounts.

For every case signal-cli answers offline, both must give the same status, the same Content-Type
(or none), the same Content-Length and the same body, byte for byte.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

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
    running = start_service(Path(tmp_path_factory.mktemp("ours")) / "data")
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
