"""RpcClient against a scripted in-test line server on a UNIX socket (no Java needed)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from signal_rest.errors import DaemonUnavailable, RateLimited, RpcError, RpcTimeout
from signal_rest.inbox.delivery import Inbox
from signal_rest.inbox.store import InboxStore
from signal_rest.jsonrpc import client as client_module
from signal_rest.jsonrpc.client import NOTIFICATIONS_AHEAD, RpcClient, _reason
from signal_rest.jsonrpc.transports import Connection, UnixTransport
from tests.jsonrpc.conftest import Connect, LineServer, reply


async def test_call_sends_a_jsonrpc_request_line(connect: Connect) -> None:
    client, peer = await connect()
    call = asyncio.create_task(client.call("send", {"account": "+4915100000", "message": "hé"}))
    request = await peer.recv()
    assert request == {
        "jsonrpc": "2.0",
        "method": "send",
        "id": request["id"],
        "params": {"account": "+4915100000", "message": "hé"},
    }
    assert isinstance(request["id"], str)
    await peer.send(reply(request, {"timestamp": 1}))
    assert await call == {"timestamp": 1}


async def test_call_matches_out_of_order_responses_by_id(connect: Connect) -> None:
    client, peer = await connect()
    calls = [asyncio.create_task(client.call("echo", {"n": n})) for n in range(5)]
    requests = [await peer.recv() for _ in range(5)]
    assert sorted(r["params"]["n"] for r in requests) == [0, 1, 2, 3, 4]
    assert len({r["id"] for r in requests}) == 5
    # Answer newest first; every call must still get the answer to its own request.
    for request in reversed(requests):
        await peer.send(reply(request, {"doubled": request["params"]["n"] * 2}))
    assert await asyncio.gather(*calls) == [{"doubled": n * 2} for n in range(5)]


async def test_call_raises_rpc_timeout_when_unanswered(connect: Connect) -> None:
    client, peer = await connect(timeout=0.2)
    with pytest.raises(RpcTimeout, match=r"did not answer version within 0\.2 s") as caught:
        await client.call("version")
    assert caught.value.status == 504
    late = await peer.recv()
    # The late answer is dropped, and the connection keeps working for the next call.
    await peer.send(reply(late, {"version": "late"}))
    # Time enough for the answer on a loaded machine: this call is to succeed.
    call = asyncio.create_task(client.call("version", timeout=5))
    request = await peer.recv()
    assert request["id"] != late["id"]
    await peer.send(reply(request, {"version": "0.13.19"}))
    assert await call == {"version": "0.13.19"}


SEND_RESULT = {
    "timestamp": 1700000000000,
    "results": [
        {
            "recipientAddress": {"uuid": None, "number": "+4915100001"},
            "type": "RATE_LIMIT_FAILURE",
            "token": "tok-1",
            "retryAfterSeconds": 60,
        },
        {
            "recipientAddress": {"uuid": None, "number": "+4915100002"},
            "type": "RATE_LIMIT_FAILURE",
            "token": "tok-2",
            "retryAfterSeconds": 60,
        },
    ],
}


@pytest.mark.parametrize(
    ("error", "expected_type", "expected_message"),
    [
        pytest.param(
            {"code": -1, "message": "Invalid group id", "data": None},
            RpcError,
            "Invalid group id",
            id="user-error",
        ),
        pytest.param(
            {"code": -32602, "message": "Specified account does not exist", "data": None},
            RpcError,
            "Specified account does not exist",
            id="unknown-account",
        ),
        pytest.param(
            {
                "code": -4,
                "message": "Failed to send message due to untrusted identities",
                "data": {"response": {"timestamp": 1, "results": []}},
            },
            RpcError,
            "Unable to complete request due to untrusted recipient keys",
            id="untrusted-identity-rewritten",
        ),
        pytest.param(
            {
                "code": -5,
                "message": "Failed to send message due to rate limiting",
                "data": {"response": SEND_RESULT},
            },
            RateLimited,
            "Failed to send message due to rate limiting",
            id="rate-limited",
        ),
    ],
)
async def test_call_raises_rpc_error_from_error_object(
    connect: Connect,
    error: dict[str, Any],
    expected_type: type[RpcError],
    expected_message: str,
) -> None:
    client, peer = await connect()
    call = asyncio.create_task(client.call("send", {"account": "+4915100000"}))
    request = await peer.recv()
    await peer.send({"jsonrpc": "2.0", "error": error, "id": request["id"]})
    with pytest.raises(RpcError) as caught:
        await call
    assert type(caught.value) is expected_type
    assert (caught.value.code, caught.value.message, caught.value.data) == (
        error["code"],
        expected_message,
        error["data"],
    )


async def test_rate_limit_error_carries_challenge_tokens(connect: Connect) -> None:
    client, peer = await connect()
    call = asyncio.create_task(client.call("send", {"account": "+4915100000"}))
    request = await peer.recv()
    error = {"code": -5, "message": "rate limited", "data": {"response": SEND_RESULT}}
    await peer.send({"jsonrpc": "2.0", "error": error, "id": request["id"]})
    with pytest.raises(RateLimited) as caught:
        await call
    assert caught.value.challenge_tokens == ["tok-1", "tok-2"]
    assert caught.value.status == 429


async def test_notifications_are_delivered_in_order(connect: Connect) -> None:
    received: list[tuple[str, Any]] = []
    all_received = asyncio.Event()

    async def on_notification(method: str, params: Any) -> None:
        received.append((method, params))
        if len(received) == 5:
            all_received.set()

    client, peer = await connect(on_notification=on_notification)
    call = asyncio.create_task(client.call("subscribeReceive"))
    request = await peer.recv()
    notifications = [
        {
            "jsonrpc": "2.0",
            "method": "receive",
            "params": {"subscription": 0, "result": {"account": "+4915100000", "n": n}},
        }
        for n in range(5)
    ]
    # A response in the middle of the stream must not be taken for a notification.
    for message in [*notifications[:2], reply(request, 0), *notifications[2:]]:
        await peer.send(message)
    assert await call == 0
    await asyncio.wait_for(all_received.wait(), 5)
    assert received == [("receive", n["params"]) for n in notifications]


async def test_slow_notification_handler_does_not_hold_up_responses(connect: Connect) -> None:
    release = asyncio.Event()
    handled: list[Any] = []

    async def on_notification(method: str, params: Any) -> None:
        await release.wait()  # as if the disk were slow
        handled.append(params)

    client, peer = await connect(on_notification=on_notification)
    notification = {"jsonrpc": "2.0", "method": "receive", "params": {"account": "+4915100000"}}
    await peer.send(notification)
    call = asyncio.create_task(client.call("version"))
    request = await peer.recv()
    await peer.send(reply(request, {"version": "0.13.19"}))
    assert await asyncio.wait_for(call, 5) == {"version": "0.13.19"}
    assert handled == []
    release.set()
    await client.close()  # waits for the handler to take what had arrived
    assert handled == [{"account": "+4915100000"}]


async def test_call_raises_daemon_unavailable_when_connection_drops_mid_call(
    connect: Connect,
) -> None:
    client, peer = await connect(timeout=10)
    call = asyncio.create_task(client.call("version"))
    await peer.recv()
    await peer.close()
    with pytest.raises(DaemonUnavailable) as caught:
        await call
    assert caught.value.message == (
        "lost the connection to signal-cli (it closed the connection) before it answered"
    )
    assert caught.value.status == 503


class HeldConnect:
    """A UNIX transport whose connections, once made, are handed over when the test says."""

    def __init__(self, path: Path) -> None:
        self.inner = UnixTransport(path)
        self.description = self.inner.description
        self.release = asyncio.Event()

    async def connect(self) -> Connection:
        conn = await self.inner.connect()
        await self.release.wait()
        return conn


async def test_close_that_lands_as_a_connection_is_made_ends_the_client(
    line_server: LineServer,
) -> None:
    # At shutdown close() may cancel the client in the instant its connection attempt
    # succeeds (it reconnects at once when the daemon drops it): the client must end then,
    # not go on serving the new connection.
    transport = HeldConnect(line_server.path)
    client = RpcClient(transport, timeout=5)
    await client.start()
    await line_server.next_peer()
    transport.release.set()
    closing = asyncio.create_task(client.close())
    done, _ = await asyncio.wait([closing], timeout=5)
    assert done == {closing}, "close() did not end the client"
    assert not client.connected


async def test_call_raises_daemon_unavailable_while_disconnected(
    short_tmp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = short_tmp / "nobody.sock"
    client = RpcClient(UnixTransport(path), reconnect_delay=0.01)
    await client.start()
    try:
        await asyncio.sleep(0.05)  # let it fail to connect at least once
        assert not client.connected
        with pytest.raises(DaemonUnavailable) as caught:
            await client.call("version")
    finally:
        await client.close()
    # Each fact once, in a user's words; the path is for the log only.
    assert caught.value.message == (
        "signal-cli is not reachable (no socket at the configured path); retrying"
    )
    warnings = [r.getMessage() for r in caplog.records if r.name == "signal_rest.jsonrpc.client"]
    # Logged once, not at every retry.
    assert warnings == [
        f"cannot reach unix://{path}: [Errno 2] No such file or directory; retrying"
    ]


async def test_connect_hook_runs_again_after_reconnect(
    line_server: LineServer, connect: Connect
) -> None:
    subscriptions: asyncio.Queue[Any] = asyncio.Queue()
    clients: list[RpcClient] = []
    # The hook starts as soon as the client connects, before `connect` hands the client back.
    client_known = asyncio.Event()

    async def resubscribe() -> None:
        await client_known.wait()
        await subscriptions.put(await clients[0].call("subscribeReceive"))

    client, first = await connect(hooks=(resubscribe,), reconnect_delay=0.01)
    clients.append(client)
    client_known.set()
    await first.send(reply(await first.recv(), 0))
    assert await asyncio.wait_for(subscriptions.get(), 5) == 0

    await first.close()
    second = await line_server.next_peer()
    request = await second.recv()
    assert request["method"] == "subscribeReceive"
    await second.send(reply(request, 1))
    assert await asyncio.wait_for(subscriptions.get(), 5) == 1
    assert client.connected


async def test_failing_connect_hook_is_logged_and_client_keeps_working(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken_hook() -> None:
        raise DaemonUnavailable("lost the connection to signal-cli: test")

    client, peer = await connect(hooks=(broken_hook,))
    call = asyncio.create_task(client.call("version"))
    await peer.send(reply(await peer.recv(), {"version": "x"}))
    assert await call == {"version": "x"}
    assert [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "signal_rest.jsonrpc.client" and "hook" in r.getMessage()
    ] == [
        (
            logging.WARNING,
            "connect hook broken_hook failed: lost the connection to signal-cli: test",
        )
    ]


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (FileNotFoundError(2, "No such file or directory"), "no socket at the configured path"),
        (PermissionError(13, "Permission denied"), "permission denied on its socket"),
        (BrokenPipeError(32, "Broken pipe"), "it closed the connection"),
        (asyncio.IncompleteReadError(b"", 10), "it closed the connection"),
        (ConnectionResetError(104, "Connection reset by peer"), "connection reset"),
        (TimeoutError(), "connecting timed out"),
        (OSError(113, "No route to host"), "no route to host"),
        (OSError("socket closed"), "socket closed"),
        (OSError(), "OSError"),
    ],
)
def test_connection_errors_are_told_in_user_terms_without_paths(
    exc: BaseException, reason: str
) -> None:
    exc.filename = "/run/secret/daemon.sock"  # type: ignore[attr-defined]
    assert _reason(exc) == reason


async def test_subscription_that_times_out_is_asked_for_again(
    connect: Connect, tmp_path: Path
) -> None:
    # A daemon too slow to answer subscribeReceive at connect time must not leave the service
    # without messages until the next reconnect.
    client, peer = await connect(timeout=0.3)
    inbox = Inbox(InboxStore(tmp_path / "inbox.sqlite3"))
    subscribing = asyncio.ensure_future(inbox.subscriber(client, retry_delay=0.05)())
    first = await peer.recv()
    assert first["method"] == "subscribeReceive"
    second = await peer.recv()  # the first was never answered
    assert (second["method"], second["id"] != first["id"]) == ("subscribeReceive", True)
    await peer.send(reply(second, 0))
    await asyncio.wait_for(subscribing, 5)


async def test_observer_hears_how_each_call_ended(
    connect: Connect, line_server: LineServer
) -> None:
    client, peer = await connect(timeout=5)
    heard: list[tuple[str, str | None, float]] = []
    client.observer = lambda method, seconds, error: heard.append((method, error, seconds))

    answered = asyncio.create_task(client.call("version"))
    await peer.send(reply(await peer.recv(), {"version": "0.13.19"}))
    assert await answered == {"version": "0.13.19"}
    refused = asyncio.create_task(client.call("send", {"account": "+4915100000"}))
    request = await peer.recv()
    await peer.send({"jsonrpc": "2.0", "error": {"code": -1, "message": "no"}, "id": request["id"]})
    with pytest.raises(RpcError):
        await refused
    with pytest.raises(RpcTimeout):
        await client.call("listGroups", timeout=0.2)
    await peer.recv()
    passed = asyncio.create_task(client.exchange({"jsonrpc": "2.0", "id": 7, "method": "nope"}))
    request = await peer.recv()
    unknown = {"code": -32601, "message": "Method not implemented", "data": None}
    await peer.send({"jsonrpc": "2.0", "error": unknown, "id": request["id"]})
    assert await passed == {"jsonrpc": "2.0", "error": unknown, "id": 7}
    lost = asyncio.create_task(client.call("version"))
    await peer.recv()
    await peer.close()
    with pytest.raises(DaemonUnavailable):
        await lost
    await line_server.next_peer()  # the client is back

    assert [(method, error) for method, error, _ in heard] == [
        ("version", None),
        ("send", "-1"),
        ("listGroups", "timeout"),
        ("nope", "-32601"),
        ("version", "unavailable"),
    ]
    assert heard[2][2] >= 0.2


async def test_the_reader_waits_while_the_notification_handler_is_behind(
    connect: Connect,
) -> None:
    # What the daemon writes then stays in the socket and the daemon, not in this process.
    release = asyncio.Event()
    handled: list[int] = []

    async def on_notification(method: str, params: Any) -> None:
        handled.append(params["n"])
        await release.wait()

    client, peer = await connect(on_notification=on_notification)
    call = asyncio.create_task(client.call("version", timeout=10))
    request = await peer.recv()
    count = NOTIFICATIONS_AHEAD * 4
    notifications = [
        {"jsonrpc": "2.0", "method": "receive", "params": {"n": n}} for n in range(count)
    ]
    lines = b"".join(json.dumps(m).encode() + b"\n" for m in notifications)
    await peer.send_raw(lines + json.dumps(reply(request, {"version": "0.13.19"})).encode() + b"\n")

    # The handler holds the first; the reader stopped after NOTIFICATIONS_AHEAD more, so the
    # answer written behind the rest is not read.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(call), 1.0)
    assert handled == [0]

    release.set()
    assert await call == {"version": "0.13.19"}
    await client.caught_up()  # the answer came after them: they are all in the queue
    assert handled == list(range(count))


async def test_close_hands_every_notification_already_read_to_the_handler(
    connect: Connect,
) -> None:
    # signal-cli counts what it wrote to us as delivered: close() waits until the handler had
    # each notification that was read, even one still busy with the first.
    release = asyncio.Event()
    handled: list[int] = []

    async def on_notification(method: str, params: Any) -> None:
        await release.wait()
        handled.append(params["n"])

    client, peer = await connect(on_notification=on_notification)
    for n in range(3):
        await peer.send({"jsonrpc": "2.0", "method": "receive", "params": {"n": n}})
    call = asyncio.create_task(client.call("version"))
    request = await peer.recv()  # written after the three: they were read before its answer
    await peer.send(reply(request, {"version": "0.13.19"}))
    assert await call == {"version": "0.13.19"}

    closing = asyncio.create_task(client.close())
    done, _ = await asyncio.wait([closing], timeout=0.2)
    assert done == set(), "close() returned while notifications waited for the handler"
    release.set()
    done, _ = await asyncio.wait([closing], timeout=5)
    assert (done, handled) == ({closing}, [0, 1, 2])


async def test_close_gives_up_on_a_stuck_handler_after_the_drain_timeout(
    connect: Connect, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(client_module, "NOTIFICATION_DRAIN_TIMEOUT", 0.2)
    stuck = asyncio.Event()

    async def on_notification(method: str, params: Any) -> None:
        await stuck.wait()  # never set

    client, peer = await connect(on_notification=on_notification)
    for n in range(3):
        await peer.send({"jsonrpc": "2.0", "method": "receive", "params": {"n": n}})
    call = asyncio.create_task(client.call("version"))
    await peer.send(reply(await peer.recv(), {"version": "0.13.19"}))
    await call

    closing = asyncio.create_task(client.close())
    done, _ = await asyncio.wait([closing], timeout=5)
    assert done == {closing}
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.name == "signal_rest.jsonrpc.client" and r.levelno == logging.ERROR
    ]
    # The one the handler holds is out of the queue; the two behind it were not handled.
    assert errors == ["2 notifications were not handled"]


async def test_a_batch_line_carries_answers_and_notifications(connect: Connect) -> None:
    # A JSON array is a batch: each member is dispatched, whatever comes before it.
    heard: list[Any] = []

    async def on_notification(method: str, params: Any) -> None:
        heard.append((method, params))

    client, peer = await connect(on_notification=on_notification)
    call = asyncio.create_task(client.call("version"))
    request = await peer.recv()
    notification = {"jsonrpc": "2.0", "method": "receive", "params": {"n": 1}}
    stray = {"jsonrpc": "2.0", "result": "no id: nobody's"}
    batch = [7, notification, stray, reply(request, {"version": "0.13.19"})]
    await peer.send_raw(json.dumps(batch).encode() + b"\n")
    assert await call == {"version": "0.13.19"}
    await client.caught_up()
    assert heard == [("receive", {"n": 1})]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            {"code": -1, "message": "Invalid group id", "data": {"response": 1}},
            (-1, "Invalid group id", {"response": 1}),
        ),
        (
            {"code": "-1", "message": "a code that is no number"},
            (-32603, "a code that is no number", None),
        ),
        ({"code": -3}, (-3, "Unknown error", None)),
    ],
)
async def test_error_answers_become_rpc_errors(
    connect: Connect, error: dict[str, Any], expected: tuple[int, str, Any]
) -> None:
    client, peer = await connect()
    call = asyncio.create_task(client.call("version"))
    request = await peer.recv()
    await peer.send({"jsonrpc": "2.0", "error": error, "id": request["id"]})
    with pytest.raises(RpcError) as caught:
        await call
    assert (caught.value.code, caught.value.message, caught.value.data) == expected


async def test_wait_connected_says_false_when_no_daemon_answers_in_time(short_tmp: Path) -> None:
    client = RpcClient(UnixTransport(short_tmp / "nobody.sock"), reconnect_delay=0.01)
    await client.start()
    try:
        assert await client.wait_connected(0.1) is False
    finally:
        await client.close()


async def test_caught_up_gives_up_on_a_stuck_handler_after_the_drain_timeout(
    connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "NOTIFICATION_DRAIN_TIMEOUT", 0.2)
    started, stuck = asyncio.Event(), asyncio.Event()

    async def on_notification(method: str, params: Any) -> None:
        started.set()
        await stuck.wait()

    client, peer = await connect(on_notification=on_notification)
    await peer.send({"jsonrpc": "2.0", "method": "receive", "params": {"n": 0}})
    await asyncio.wait_for(started.wait(), 5)
    waiting = asyncio.create_task(client.caught_up())
    done, _ = await asyncio.wait([waiting], timeout=5)
    assert done == {waiting}
    waiting.result()  # returned, did not raise
    stuck.set()


class Flaky:
    """A transport that refuses `failures` attempts, then connects to the line server, and
    notes when each attempt came."""

    def __init__(self, path: Path, failures: int) -> None:
        self.inner = UnixTransport(path)
        self.description = "a flaky daemon"
        self.failures = failures
        self.attempts: list[float] = []

    async def connect(self) -> Connection:
        self.attempts.append(asyncio.get_running_loop().time())
        if len(self.attempts) <= self.failures:
            raise ConnectionRefusedError(111, "Connection refused")
        return await self.inner.connect()


async def test_reconnects_back_off_doubling_up_to_the_limit_and_start_over_once_connected(
    line_server: LineServer,
) -> None:
    transport = Flaky(line_server.path, failures=4)
    client = RpcClient(transport, reconnect_delay=0.05, max_reconnect_delay=0.2)
    await client.start()
    try:
        assert await client.wait_connected(5)
        peer = await line_server.next_peer()
        transport.failures = 7  # the next two attempts fail too
        await peer.close()
        await line_server.next_peer()  # the eighth attempt connected
    finally:
        await client.close()
    gaps = [
        later - earlier
        for earlier, later in zip(transport.attempts, transport.attempts[1:], strict=False)
    ]
    # Attempts 1-5 (the fifth connects), then the drop: attempts 6-8 (the eighth connects).
    assert len(gaps) == 7
    # Sleeps end no earlier than asked: lower bounds only, whatever the machine's load.
    floors = [0.05, 0.1, 0.2, 0.2]
    assert [gap >= floor for gap, floor in zip(gaps[:4], floors, strict=True)] == [True] * 4
    # A drop is retried at once, then from the first delay again.
    assert gaps[5] >= 0.05 and gaps[6] >= 0.1


class Faulty:
    """A UNIX transport whose first connection fails its first write with an error nobody
    foresaw."""

    def __init__(self, path: Path) -> None:
        self.inner = UnixTransport(path)
        self.description = "a faulty daemon"
        self.connections = 0

    async def connect(self) -> Connection:
        conn = await self.inner.connect()
        self.connections += 1
        if self.connections == 1:

            async def broken(line: bytes) -> None:
                raise ValueError("boom")

            conn.send_line = broken  # type: ignore[method-assign]
            conn.write_now = lambda line: False  # type: ignore[method-assign]
        return conn


async def test_an_unforeseen_failure_drops_the_connection_not_the_client(
    line_server: LineServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = RpcClient(Faulty(line_server.path), timeout=5, reconnect_delay=0.01)
    await client.start()
    try:
        await line_server.next_peer()
        with pytest.raises(DaemonUnavailable):
            await client.call("version")  # its write failed: the connection is dropped
        peer = await line_server.next_peer()  # and made again
        call = asyncio.create_task(client.call("version"))
        await peer.send(reply(await peer.recv(), {"version": "0.13.19"}))
        assert await call == {"version": "0.13.19"}
    finally:
        await client.close()
    failures = [
        (r.getMessage(), repr(r.exc_info[1]) if r.exc_info else None)
        for r in caplog.records
        if r.levelname == "ERROR"
    ]
    assert failures == [("jsonrpc-writer failed", "ValueError('boom')")]
