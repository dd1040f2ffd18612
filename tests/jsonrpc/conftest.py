"""Shared helpers for the JSON-RPC tests: short socket paths and a scriptable line server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest


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

    async def recv(self) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), 5)
        assert line, "the client closed the connection"
        message = json.loads(line)
        assert isinstance(message, dict)
        return message

    async def send(self, message: dict[str, Any]) -> None:
        self.writer.write(json.dumps(message).encode() + b"\n")
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
        self._server = await asyncio.start_unix_server(self._accept, path=str(self.path))

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
