"""RpcClient behind a daemon that stops reading (stopped, hung), and with lines of any size.

The peer stalls by pausing its reading, as a SIGSTOPped daemon does: once the socket buffers are
full, the client's write of a large line cannot finish. Every call must still end at its own
deadline, and the stream must stay well-formed for the calls after the stall.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from signal_rest.errors import DaemonError, DaemonUnavailable, RpcTimeout, ValidationError
from signal_rest.jsonrpc.client import MAX_STRING, RpcClient
from tests.jsonrpc.conftest import Connect, LineServer, reply

# Far more than the socket buffers between client and peer hold (a few hundred KiB).
BIG = 4 * 1024 * 1024
MIB = 1024 * 1024


def big_message(fill: str = "x") -> dict[str, Any]:
    return {"account": "+4915100000", "message": fill * BIG}


async def writing_stalled(client: RpcClient) -> None:
    """Wait until the writer has taken every queued line and is stuck writing the last one."""
    while client.queued or not client.writing:
        await asyncio.sleep(0.01)


async def test_stalled_write_times_out_as_rpc_timeout(connect: Connect) -> None:
    client, peer = await connect()
    peer.stall()
    # The outer bound only turns a hang into a failure; the call must end at its own 0.3 s.
    with pytest.raises(RpcTimeout) as caught:
        await asyncio.wait_for(client.call("send", big_message(), timeout=0.3), 10)
    assert (caught.value.status, caught.value.message) == (
        504,
        "signal-cli did not answer send within 0.3 s",
    )
    assert client.connected

    # The daemon comes back: the line begun before the timeout arrives whole, not cut.
    peer.resume()
    late = await peer.recv()
    assert late["method"] == "send"
    assert late["params"] == big_message()
    await peer.send(reply(late, {"timestamp": 1}))  # an answer nobody waits for any more
    call = asyncio.create_task(client.call("version"))
    request = await peer.recv()
    assert request["method"] == "version"
    await peer.send(reply(request, {"version": "0.13.19"}))
    assert await call == {"version": "0.13.19"}


async def test_stalled_write_does_not_extend_another_calls_timeout(connect: Connect) -> None:
    client, peer = await connect()
    peer.stall()
    big = asyncio.create_task(client.call("send", big_message(), timeout=60))
    await writing_stalled(client)

    with pytest.raises(RpcTimeout, match=r"did not answer version within 0\.2 s"):
        await asyncio.wait_for(client.call("version", timeout=0.2), 10)
    assert not big.done()  # still being written
    # Nothing of the call that gave up is kept: not its line, not its wait for an answer.
    assert (client.queued, client.in_flight) == (0, 1)
    assert client.writing > BIG

    peer.resume()
    first = await peer.recv()
    assert first["params"] == big_message()
    after = asyncio.create_task(client.call("listAccounts"))
    # The abandoned `version` was never written: the next line is the new call.
    second = await peer.recv()
    assert second["method"] == "listAccounts"
    # Answers in the opposite order; each call gets its own.
    await peer.send(reply(second, []))
    await peer.send(reply(first, {"timestamp": 2}))
    assert list(await asyncio.wait_for(asyncio.gather(big, after), 5)) == [{"timestamp": 2}, []]
    assert (client.queued, client.in_flight, client.writing) == (0, 0, 0)


async def test_health_sized_call_is_written_before_waiting_large_lines(connect: Connect) -> None:
    client, peer = await connect()
    peer.stall()
    first = asyncio.create_task(client.call("send", big_message("a")))
    await writing_stalled(client)
    second = asyncio.create_task(client.call("send", big_message("b")))
    small = asyncio.create_task(client.call("version"))
    while client.queued < 2:
        await asyncio.sleep(0.01)

    peer.resume()
    requests = [await peer.recv() for _ in range(3)]
    assert [(r["method"], (r.get("params") or {}).get("message", "")[:1]) for r in requests] == [
        ("send", "a"),
        ("version", ""),
        ("send", "b"),
    ]
    for request in requests:
        await peer.send(reply(request, request["id"]))
    results = await asyncio.wait_for(asyncio.gather(first, small, second), 5)
    assert list(results) == [r["id"] for r in requests]


async def test_close_does_not_hang_behind_a_stalled_write(connect: Connect) -> None:
    client, peer = await connect()
    peer.stall()
    big = asyncio.create_task(client.call("send", big_message(), timeout=60))
    await writing_stalled(client)
    await asyncio.wait_for(client.close(), 10)
    with pytest.raises(DaemonUnavailable) as caught:
        await big
    assert caught.value.message == (
        "lost the connection to signal-cli (signal-rest is shutting down) before it answered"
    )


async def test_peer_gone_during_stalled_write_fails_the_call_and_reconnects(
    connect: Connect, line_server: LineServer
) -> None:
    client, peer = await connect(reconnect_delay=0.01)
    peer.stall()
    big = asyncio.create_task(client.call("send", big_message(), timeout=60))
    await writing_stalled(client)
    await peer.close()
    with pytest.raises(DaemonUnavailable, match=r"^lost the connection to signal-cli \("):
        await asyncio.wait_for(big, 10)

    # A new connection, and the stream on it starts clean.
    fresh = await line_server.next_peer()
    call = asyncio.create_task(client.call("version"))
    request = await fresh.recv()
    assert request["method"] == "version"
    await fresh.send(reply(request, {"version": "0.13.19"}))
    assert await call == {"version": "0.13.19"}


def notification(n: int, text: str = "") -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": "receive",
        "params": {"subscription": 0, "result": {"n": n, "text": text}},
    }


async def collect(into: list[Any], count: int) -> None:
    while len(into) < count:
        await asyncio.sleep(0.01)


async def test_lines_longer_than_the_read_chunk_arrive_whole(connect: Connect) -> None:
    received: list[Any] = []

    async def on_notification(method: str, params: Any) -> None:
        received.append(params)

    client, peer = await connect(on_notification=on_notification)
    long_text = "é" * (3 * MIB)  # 6 MiB of UTF-8, several times the 1 MiB read chunk
    await peer.send(notification(1, long_text))
    call = asyncio.create_task(client.call("listGroups"))
    request = await peer.recv()
    await peer.send(reply(request, [{"id": "g", "name": "n" * (5 * MIB)}]))
    assert await asyncio.wait_for(call, 10) == [{"id": "g", "name": "n" * (5 * MIB)}]
    await asyncio.wait_for(collect(received, 1), 10)
    assert received == [{"subscription": 0, "result": {"n": 1, "text": long_text}}]


async def test_line_over_the_limit_is_logged_and_skipped_keeping_the_connection(
    connect: Connect, line_server: LineServer, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[Any] = []

    async def on_notification(method: str, params: Any) -> None:
        received.append(params)

    client, peer = await connect(on_notification=on_notification, max_line=2 * MIB)
    await peer.send(notification(1, "before"))
    await peer.send(notification(2, "y" * (3 * MIB)))  # over the 2 MiB limit
    await peer.send(notification(3, "after"))
    # An answer over the limit fails its own call at once, not at its timeout.
    call = asyncio.create_task(client.call("listGroups", timeout=60))
    request_for_big = await peer.recv()
    await peer.send(reply(request_for_big, ["z" * (3 * MIB)]))
    with pytest.raises(DaemonError) as caught:
        await asyncio.wait_for(call, 10)
    assert (type(caught.value), caught.value.status, caught.value.message) == (
        DaemonError,
        400,
        "signal-cli's answer (3 MiB) is larger than the 2 MiB signal-rest accepts",
    )
    later = asyncio.create_task(client.call("version"))
    request = await peer.recv()
    await peer.send(reply(request, {"version": "0.13.19"}))
    assert await asyncio.wait_for(later, 5) == {"version": "0.13.19"}

    await asyncio.wait_for(collect(received, 2), 5)
    assert [params["result"]["n"] for params in received] == [1, 3]
    assert client.connected and line_server.peers.empty()  # never reconnected
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.name == "signal_rest.jsonrpc.client" and r.levelno == logging.ERROR
    ]
    skipped_notification = json.dumps(notification(2, "y" * (3 * MIB))).encode()
    skipped_answer = json.dumps(reply(request_for_big, ["z" * (3 * MIB)])).encode()
    where = f"unix://{line_server.path}"
    assert errors == [
        f"skipped a {len(skipped_notification) + 1}-byte line from {where} "
        f"(longer than {2 * MIB} bytes); it began {repr(skipped_notification[:200])[:120]}",
        f"skipped a {len(skipped_answer) + 1}-byte line from {where}, the answer to request "
        f"{request_for_big['id']} (longer than {2 * MIB} bytes); it began "
        f"{repr(skipped_answer[:200])[:120]}",
    ]


async def test_blank_lines_are_not_taken_for_the_end_of_the_stream(connect: Connect) -> None:
    client, peer = await connect()
    call = asyncio.create_task(client.call("version"))
    request = await peer.recv()
    await peer.send_raw(b"\n\r\n")
    await peer.send(reply(request, {"version": "0.13.19"}))
    assert await asyncio.wait_for(call, 5) == {"version": "0.13.19"}
    assert client.connected


@pytest.mark.parametrize(
    ("text", "length"),
    [
        pytest.param("x" * (MAX_STRING + 1), MAX_STRING + 1, id="ascii"),
        # Java counts UTF-16 units: an emoji is two.
        pytest.param("\U0001f600" * (MAX_STRING // 2 + 1), MAX_STRING + 2, id="emoji"),
    ],
)
async def test_string_signal_cli_cannot_read_is_refused_before_it_is_written(
    connect: Connect, text: str, length: int
) -> None:
    client, peer = await connect()
    with pytest.raises(ValidationError) as caught:
        await client.call("send", {"account": "+4915100000", "message": text})
    assert (caught.value.status, caught.value.message) == (
        400,
        f"message is too long: {length} characters, and signal-cli accepts at most "
        f"{MAX_STRING} in one value",
    )
    # Nothing was written: the next line the daemon sees is the next call, at the limit.
    at_limit = {"account": "+4915100000", "message": ["y" * MAX_STRING]}
    call = asyncio.create_task(client.call("send", at_limit))
    request = await peer.recv()
    assert request["params"] == at_limit
    await peer.send(reply(request, {"timestamp": 3}))
    assert await call == {"timestamp": 3}


async def test_sandbox_methods_take_strings_of_any_length(connect: Connect) -> None:
    client, peer = await connect()
    params = {"from": "+4915100000009", "message": "z" * (MAX_STRING + 1)}
    call = asyncio.create_task(client.call("sandbox.send", params))
    request = await peer.recv()
    assert request["params"] == params
    await peer.send(reply(request, {"timestamp": 4}))
    assert await call == {"timestamp": 4}
