"""Shared helpers for the JSON-RPC tests: short socket paths and a scriptable line server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from signal_rest.jsonrpc.client import RpcClient
from signal_rest.jsonrpc.transports import MAX_LINE, UnixTransport

PEER_LINE_LIMIT = 256 * 1024 * 1024


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary directory with a short path: UNIX socket paths are limited to 107 bytes, and
    pytest's tmp_path (which embeds the test name) can exceed that."""
    path = Path(tempfile.mkdtemp(prefix="sr-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Peer:
    """The server side of one client connection; the test reads requests and writes replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def stall(self) -> None:
        """Stop reading, as a stopped or hung daemon does: once the socket buffers are full, the
        client's writes block."""
        transport = self.writer.transport
        assert isinstance(transport, asyncio.ReadTransport)
        transport.pause_reading()

    def resume(self) -> None:
        transport = self.writer.transport
        assert isinstance(transport, asyncio.ReadTransport)
        transport.resume_reading()

    async def recv(self) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), 5)
        assert line, "the client closed the connection"
        message = json.loads(line)
        assert isinstance(message, dict)
        return message

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_raw(json.dumps(message).encode() + b"\n")

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


class LineServer:
    """A UNIX-socket server that hands each accepted connection to the test as a `Peer`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.peers: asyncio.Queue[Peer] = asyncio.Queue()
        self._all: list[Peer] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        # A limit far above the lines the tests write, so recv() reads them whole.
        self._server = await asyncio.start_unix_server(
            self._accept, path=str(self.path), limit=PEER_LINE_LIMIT
        )

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(reader, writer)
        self._all.append(peer)
        await self.peers.put(peer)

    async def next_peer(self) -> Peer:
        return await asyncio.wait_for(self.peers.get(), 5)

    async def close(self) -> None:
        for peer in self._all:
            await peer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def line_server(short_tmp: Path) -> AsyncIterator[LineServer]:
    server = LineServer(short_tmp / "daemon.sock")
    await server.start()
    yield server
    await server.close()


Connect = Callable[..., Awaitable[tuple[RpcClient, Peer]]]


@pytest.fixture
async def connect(line_server: LineServer) -> AsyncIterator[Connect]:
    """Start an RpcClient against the line server; returns it with the server side of its
    connection. Hooks are added before start() so they also run for the first connection."""
    clients: list[RpcClient] = []

    async def factory(
        *,
        hooks: tuple[Callable[[], Awaitable[None]], ...] = (),
        max_line: int = MAX_LINE,
        **kwargs: Any,
    ) -> tuple[RpcClient, Peer]:
        # A bounded default, so that a call whose answer goes astray fails fast.
        kwargs.setdefault("timeout", 5)
        client = RpcClient(UnixTransport(line_server.path, max_line=max_line), **kwargs)
        clients.append(client)
        for hook in hooks:
            client.add_connect_hook(hook)
        await client.start()
        assert await client.wait_connected(5)
        return client, await line_server.next_peer()

    yield factory
    for client in clients:
        # Bounded, so that a client that cannot close fails the test instead of hanging it
        # (asyncio.timeout: wait_for returns quietly if close() swallows the cancel).
        async with asyncio.timeout(5):
            await client.close()


def reply(request: dict[str, Any], result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "result": result, "id": request["id"]}
