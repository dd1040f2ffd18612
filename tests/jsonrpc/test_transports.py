"""Transport selection by URL, and the same RpcClient over TCP and over a child's stdio."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from signal_rest import eventloop
from signal_rest.jsonrpc.client import RpcClient
from signal_rest.jsonrpc.transports import (
    StdioTransport,
    TcpTransport,
    UnixTransport,
    transport_from_url,
)


@pytest.mark.parametrize(
    ("url", "expected_type", "attrs"),
    [
        pytest.param(
            "tcp://127.0.0.1:7583",
            TcpTransport,
            {"host": "127.0.0.1", "port": 7583, "description": "tcp://127.0.0.1:7583"},
            id="tcp",
        ),
        pytest.param(
            "tcp://signal-cli:6001",
            TcpTransport,
            {"host": "signal-cli", "port": 6001},
            id="tcp-name",
        ),
        pytest.param(
            "unix:///run/signal-cli/socket",
            UnixTransport,
            {
                "path": Path("/run/signal-cli/socket"),
                "description": "unix:///run/signal-cli/socket",
            },
            id="unix",
        ),
        pytest.param(
            "/tmp/daemon.sock", UnixTransport, {"path": Path("/tmp/daemon.sock")}, id="bare-path"
        ),
    ],
)
def test_transport_from_url_picks_transport(
    url: str, expected_type: type, attrs: dict[str, object]
) -> None:
    transport = transport_from_url(url)
    assert type(transport) is expected_type
    assert {name: getattr(transport, name) for name in attrs} == attrs


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("tcp://127.0.0.1", id="tcp-without-port"),
        pytest.param("tcp://:7583", id="tcp-without-host"),
        pytest.param("unix://", id="unix-without-path"),
        pytest.param("http://localhost:8080", id="http"),
        pytest.param("relative/daemon.sock", id="relative-path"),
        pytest.param("", id="empty"),
    ],
)
def test_transport_from_url_rejects_invalid(url: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        transport_from_url(url)


async def test_client_over_tcp() -> None:
    async def respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            request = json.loads(line)
            answer = {"jsonrpc": "2.0", "result": {"got": request["params"]}, "id": request["id"]}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(respond, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = RpcClient(transport_from_url(f"tcp://127.0.0.1:{port}"), timeout=5)
    await client.start()
    try:
        assert await client.wait_connected(5)
        results = await asyncio.gather(*(client.call("echo", {"n": n}) for n in range(10)))
        assert results == [{"got": {"n": n}} for n in range(10)]
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


# A tiny JSON-RPC responder: answers every request with its method, params and own pid, and
# sends a notification first when asked to.
STDIO_RESPONDER = """
import json, os, sys
for line in sys.stdin:
    request = json.loads(line)
    if request["method"] == "notifyFirst":
        print(json.dumps({"jsonrpc": "2.0", "method": "receive", "params": {"n": 1}}), flush=True)
    result = {"method": request["method"], "params": request.get("params"), "pid": os.getpid()}
    print(json.dumps({"jsonrpc": "2.0", "result": result, "id": request["id"]}), flush=True)
"""


async def test_client_over_stdio(tmp_path: Path) -> None:
    script = tmp_path / "responder.py"
    script.write_text(STDIO_RESPONDER)
    notifications: list[tuple[str, object]] = []

    async def on_notification(method: str, params: object) -> None:
        notifications.append((method, params))

    transport = StdioTransport([sys.executable, str(script)])
    assert transport.description == f"stdio:{sys.executable} {script}"
    client = RpcClient(transport, timeout=10, on_notification=on_notification)
    await client.start()
    try:
        assert await client.wait_connected(10)
        first = await client.call("version")
        second = await client.call("notifyFirst", {"message": "Grüße 👋"})
    finally:
        await client.close()
    assert first == {"method": "version", "params": None, "pid": first["pid"]}
    assert second == {
        "method": "notifyFirst",
        "params": {"message": "Grüße 👋"},
        "pid": first["pid"],
    }
    assert notifications == [("receive", {"n": 1})]
    # close() ends (and reaps) the child it started.
    with pytest.raises(ProcessLookupError):
        os.kill(first["pid"], 0)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_line_for_a_connection_that_closed_is_a_connection_error(
    short_tmp: Path, loop: str
) -> None:
    # uvloop raises RuntimeError for a write to a closed handle; the client's writer knows
    # connection errors only, and took the RuntimeError for a reason to stop for good.
    async def scenario() -> None:
        server = await asyncio.start_unix_server(lambda r, w: w.close(), path=short_tmp / "s")
        try:
            conn = await UnixTransport(short_tmp / "s").connect()
            await conn.close()
            with pytest.raises(ConnectionResetError):
                await conn.send_line(b'{"jsonrpc": "2.0", "method": "version", "id": 1}')
        finally:
            server.close()

    with asyncio.Runner(loop_factory=eventloop.factory(loop)) as runner:
        runner.run(scenario())
