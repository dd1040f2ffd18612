"""Ways to reach a JSON-RPC daemon: a UNIX socket, TCP, or the stdio of a child process.

Each transport opens `Connection`s that carry newline-delimited JSON lines. The client in
`signal_rest.jsonrpc.client` only sees this interface, so signal-cli and the sandbox are reached
the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

__all__ = [
    "TRANSPORTS",
    "Connection",
    "StdioTransport",
    "StreamConnection",
    "TcpTransport",
    "Transport",
    "UnixTransport",
    "transport_from_url",
]

# signal-cli writes each envelope as one line; a line with a large attachment list or a big
# listGroups result can be long, so allow up to 64 MiB per line.
LINE_LIMIT = 64 * 1024 * 1024


class Connection(Protocol):
    async def send_line(self, line: bytes) -> None: ...

    async def read_line(self) -> bytes:
        """The next line without its newline; b"" at end of stream."""
        ...

    async def close(self) -> None: ...


class Transport(Protocol):
    description: str

    async def connect(self) -> Connection: ...


class StreamConnection:
    """A connection over an asyncio stream pair (socket or pipes)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        process: asyncio.subprocess.Process | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._process = process
        self._write_lock = asyncio.Lock()

    async def send_line(self, line: bytes) -> None:
        async with self._write_lock:
            self._writer.write(line + b"\n")
            await self._writer.drain()

    async def read_line(self) -> bytes:
        line = await self._reader.readline()
        if not line:
            return b""
        return line.rstrip(b"\r\n") if line.endswith(b"\n") else line

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, RuntimeError):
            await self._writer.wait_closed()
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            with contextlib.suppress(ProcessLookupError):
                await self._process.wait()


class UnixTransport:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.description = f"unix://{self.path}"

    async def connect(self) -> Connection:
        reader, writer = await asyncio.open_unix_connection(str(self.path), limit=LINE_LIMIT)
        return StreamConnection(reader, writer)


class TcpTransport:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.description = f"tcp://{host}:{port}"

    async def connect(self) -> Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=LINE_LIMIT)
        return StreamConnection(reader, writer)


class StdioTransport:
    """Starts `argv` (e.g. `signal-cli jsonRpc`) and talks JSON-RPC over its stdin/stdout."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.env = env
        self.description = "stdio:" + " ".join(self.argv)

    async def connect(self) -> Connection:
        process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=self.env,
            limit=LINE_LIMIT,
        )
        assert process.stdout is not None and process.stdin is not None
        writer = process.stdin
        # A pipe StreamWriter has the same write/drain/close interface as a socket's.
        return StreamConnection(process.stdout, writer, process)


TRANSPORTS = {"unix": UnixTransport, "tcp": TcpTransport, "stdio": StdioTransport}


def transport_from_url(url: str) -> Transport:
    """`tcp://HOST:PORT` or `unix:///PATH` (also a bare path) to a transport.

    >>> transport_from_url("tcp://127.0.0.1:7583").description
    'tcp://127.0.0.1:7583'
    """
    parts = urlsplit(url)
    if parts.scheme == "tcp":
        if not parts.hostname or parts.port is None:
            raise ValueError(f"{url!r}: expected tcp://HOST:PORT")
        return TcpTransport(parts.hostname, parts.port)
    if parts.scheme == "unix":
        path = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not path:
            raise ValueError(f"{url!r}: expected unix:///PATH")
        return UnixTransport(path)
    if parts.scheme == "" and url.startswith("/"):
        return UnixTransport(url)
    raise ValueError(f"{url!r}: expected tcp://HOST:PORT or unix:///PATH")
