"""A tiny newline-delimited JSON-RPC client for talking to the sandbox (or signal-cli) in tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from pathlib import Path
from typing import Any


class LineClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.lines: asyncio.Queue[Any] = asyncio.Queue()
        self.notifications: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._waiting: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def unix(cls, path: Path) -> LineClient:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=2**26)
        return cls(reader, writer)

    async def _read(self) -> None:
        while line := await self.reader.readline():
            value = json.loads(line)
            if isinstance(value, dict) and "method" in value:
                self.notifications.put_nowait(value)
            elif isinstance(value, dict) and value.get("id") in self._waiting:
                self._waiting.pop(value["id"]).set_result(value)
            else:
                self.lines.put_nowait(value)

    async def send_line(self, line: str) -> None:
        self.writer.write(line.encode() + b"\n")
        await self.writer.drain()

    async def next_line(self, timeout: float = 10) -> Any:
        return await asyncio.wait_for(self.lines.get(), timeout)

    async def request(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 10
    ) -> dict[str, Any]:
        """The whole response object."""
        rid = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = future
        body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": rid}
        if params is not None:
            body["params"] = params
        await self.send_line(json.dumps(body))
        return await asyncio.wait_for(future, timeout)

    async def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 10
    ) -> Any:
        """The result; an error response raises AssertionError with the error object."""
        response = await self.request(method, params, timeout)
        if "error" in response:
            raise AssertionError(response["error"])
        return response["result"]

    async def error(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.request(method, params)
        assert "error" in response, response
        return dict(response["error"])

    async def notification(self, timeout: float = 5) -> dict[str, Any]:
        return await asyncio.wait_for(self.notifications.get(), timeout)

    async def close(self) -> None:
        self._task.cancel()
        self.writer.close()
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await self.writer.wait_closed()
