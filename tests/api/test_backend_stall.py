"""A frozen backend (SIGSTOP) bounds every request by its own timeout, over real HTTP.

The sandbox runs as a separate process so that it can be stopped; the service reaches it with
`signal_cli_url`, as it would reach a signal-cli daemon run by the user. Before the fix, a 20 MB
send behind a stopped daemon held the connection's write lock outside any timeout, and a small
send and the health check behind it hung as long as the daemon stayed stopped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.flows import ALICE, BOB, is_content, receive_until
from tests.support.service import RunningService, start_service
from tests.support.shapes import data_message
from tests.support.standalone import SandboxProcess

RPC_TIMEOUT = 2.0
TWENTY_MB = 20 * 1000 * 1000


@pytest.fixture
def stoppable() -> Iterator[tuple[SandboxProcess, RunningService]]:
    """A sandbox process and the service connected to it, with ALICE and BOB registered."""
    with connected(RPC_TIMEOUT) as pair:
        yield pair


@pytest.fixture
def patient() -> Iterator[tuple[SandboxProcess, RunningService]]:
    """As `stoppable`, with the default call timeout: longer than the checks' own 5 s."""
    with connected(60.0) as pair:
        yield pair


@contextlib.contextmanager
def connected(rpc_timeout: float) -> Iterator[tuple[SandboxProcess, RunningService]]:
    root = Path(tempfile.mkdtemp(prefix="sr-"))  # short: UNIX socket paths are limited
    sandbox = SandboxProcess(root)
    service = None
    try:
        service = start_service(
            root / "data",
            sandbox=False,
            signal_cli_url=f"unix://{sandbox.socket}",
            rpc_timeout=rpc_timeout,
        )
        for number in (ALICE, BOB):
            response = service.client.post(f"/v1/register/{number}")
            assert response.status_code == 201, response.text
            code = sandbox.call("sandbox.getVerificationCode", {"number": number})["code"]
            response = service.client.post(f"/v1/register/{number}/verify/{code}")
            assert response.status_code == 201, response.text
        yield sandbox, service
    finally:
        if service is not None:
            service.stop()
        sandbox.stop()
        shutil.rmtree(root, ignore_errors=True)


class Request(threading.Thread):
    """One HTTP request on a thread of its own; `outcome` is (status, body, seconds taken)."""

    def __init__(self, service: RunningService, method: str, path: str, **kwargs: Any) -> None:
        super().__init__(daemon=True)
        self.service = service
        self.args = (method, path)
        self.kwargs = kwargs
        self.outcome: tuple[int, Any, float] | None = None

    def run(self) -> None:
        started = time.monotonic()
        # Far longer than any bound under test: a hang shows up as a failed assertion.
        with httpx.Client(base_url=self.service.url, timeout=60) as client:
            response = client.request(*self.args, **self.kwargs)
        body = response.json() if response.content else None
        self.outcome = (response.status_code, body, time.monotonic() - started)


def while_stopped(sandbox: SandboxProcess, *requests: Request) -> None:
    """Run `requests` at once while the sandbox is stopped, each until it is answered (or
    90 s passed); the sandbox runs on after."""
    os.kill(sandbox.process.pid, signal.SIGSTOP)
    try:
        for request in requests:
            request.start()
        for request in requests:
            request.join(90)
    finally:
        os.kill(sandbox.process.pid, signal.SIGCONT)


def send(text: str) -> dict[str, Any]:
    return {"number": ALICE, "recipients": [BOB], "message": text}


def test_stopped_backend_bounds_each_request_by_its_own_timeout(
    stoppable: tuple[SandboxProcess, RunningService],
) -> None:
    sandbox, service = stoppable
    assert service.client.get("/v1/health").status_code == 204
    big_text = "x" * TWENTY_MB

    os.kill(sandbox.process.pid, signal.SIGSTOP)
    try:
        big = Request(service, "POST", "/v2/send", json=send(big_text))
        big.start()
        # The large line is being written and cannot finish: the daemon does not read.
        deadline = time.monotonic() + 30
        while service.backend.rpc.writing < TWENTY_MB:
            assert time.monotonic() < deadline, "the large send never reached the daemon"
            time.sleep(0.01)
        small = Request(service, "POST", "/v2/send", json=send("small"))
        health = Request(service, "GET", "/v1/health")
        for request in (small, health):
            request.start()
        for request in (big, small, health):
            request.join(90)
    finally:
        os.kill(sandbox.process.pid, signal.SIGCONT)

    assert big.outcome is not None and small.outcome is not None and health.outcome is not None
    timed_out = {"error": f"signal-cli did not answer send within {RPC_TIMEOUT:g} s"}
    assert big.outcome[:2] == (504, timed_out)
    assert small.outcome[:2] == (504, timed_out)
    assert health.outcome[:2] == (
        503,
        {"error": f"signal-cli did not answer within {RPC_TIMEOUT:g} s"},
    )
    # Loose upper bounds (each is RPC_TIMEOUT plus HTTP overhead); the bug made them hang for
    # as long as the daemon was stopped.
    assert small.outcome[2] < 15 and health.outcome[2] < 15
    assert big.outcome[2] < 30

    # The daemon is back: the half-written line is finished, and everything works again.
    deadline = time.monotonic() + 30
    while service.client.get("/v1/health").status_code != 204:
        assert time.monotonic() < deadline, "health did not recover"
        time.sleep(0.1)
    response = service.client.post("/v2/send", json=send("after"))
    assert response.status_code == 201, response.text
    [entry] = response.json()
    after = int(entry["timestamp"])

    # The large send had begun, so it was carried out; the small one timed out before its line
    # was written, so it was never sent.
    messages = receive_until(service.client, BOB, 2, timeout=30)
    texts = [m["envelope"]["dataMessage"]["message"] for m in messages if is_content(m)]
    assert [len(t) for t in texts] == [TWENTY_MB, len("after")]
    assert texts == [big_text, "after"]
    assert messages[1]["envelope"]["dataMessage"] == data_message(after, "after")


def test_receive_serves_the_inbox_while_the_daemon_cannot_say_which_accounts_it_has(
    stoppable: tuple[SandboxProcess, RunningService],
) -> None:
    sandbox, service = stoppable
    carol = "+4915100000003"
    sandbox.call("sandbox.send", {"from": carol, "recipient": [ALICE], "message": "stored"})
    deadline = time.monotonic() + 10
    while not service.run(service.backend.inbox.store.pending(ALICE)):
        assert time.monotonic() < deadline, "the message never reached the inbox"
        time.sleep(0.05)
    # As after a restart: the service has not yet learnt which numbers are accounts.
    service.backend.accounts.forget(ALICE)
    os.kill(sandbox.process.pid, signal.SIGSTOP)
    try:
        response = service.client.get(f"/v1/receive/{ALICE}", params={"timeout": "0"})
        refused = service.client.get(f"/v1/groups/{ALICE}")
    finally:
        os.kill(sandbox.process.pid, signal.SIGCONT)
    [message] = response.json()
    assert (response.status_code, message["envelope"]["dataMessage"]["message"]) == (
        200,
        "stored",
    )
    assert (refused.status_code, refused.json()) == (
        504,
        {"error": f"signal-cli did not answer listAccounts within {RPC_TIMEOUT:g} s"},
    )


def test_health_and_check_answer_within_five_seconds_whatever_the_call_timeout(
    patient: tuple[SandboxProcess, RunningService],
) -> None:
    sandbox, service = patient
    assert service.client.get("/v1/health").status_code == 204
    assert service.client.get("/api/v1/check").status_code == 200

    health = Request(service, "GET", "/v1/health")
    check = Request(service, "GET", "/api/v1/check")
    while_stopped(sandbox, health, check)

    assert health.outcome is not None and check.outcome is not None
    stalled = {"error": "signal-cli did not answer within 5 s"}
    assert health.outcome[:2] == (503, stalled)
    assert check.outcome[:2] == (503, stalled)
    # 5 s plus HTTP overhead on a loaded machine; the call timeout would be 60 s.
    assert health.outcome[2] < 20 and check.outcome[2] < 20


def test_passthrough_calls_not_answered_in_time_are_504_and_so_is_their_batch(
    stoppable: tuple[SandboxProcess, RunningService],
) -> None:
    sandbox, service = stoppable
    one = {"jsonrpc": "2.0", "method": "version", "id": 1}
    batch = [one, {"jsonrpc": "2.0", "method": "listAccounts", "id": "two"}]
    json_rpc = {"Content-Type": "application/json"}
    single = Request(service, "POST", "/api/v1/rpc", json=one, headers=json_rpc)
    both = Request(service, "POST", "/api/v1/rpc", json=batch, headers=json_rpc)
    while_stopped(sandbox, single, both)

    assert single.outcome is not None and both.outcome is not None
    assert single.outcome[:2] == (
        504,
        {"error": f"signal-cli did not answer version within {RPC_TIMEOUT:g} s"},
    )
    assert both.outcome[0] == 504  # named by whichever call's bound passed first
    assert both.outcome[1] in (
        {"error": f"signal-cli did not answer {method} within {RPC_TIMEOUT:g} s"}
        for method in ("version", "listAccounts")
    )
