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
    "MAX_LINE",
    "TRANSPORTS",
    "Connection",
    "LineTooLong",
    "StdioTransport",
    "StreamConnection",
    "TcpTransport",
    "Transport",
    "UnixTransport",
    "transport_from_url",
]

# signal-cli writes each envelope or answer as one line, and a line can be long: an incoming text
# of many megabytes (the sandbox lets an outside user send one), a large listGroups result. Lines
# up to MAX_LINE are read whole; a longer one is skipped (LineTooLong) and the stream goes on.
MAX_LINE = 256 * 1024 * 1024
# How much the stream buffers before it stops reading the socket: long lines are read in pieces
# of about this size, so it bounds memory beyond the line being assembled, not the line length.
READ_CHUNK = 1024 * 1024
# How long close() waits for the other side before it gives up on a clean close.
CLOSE_TIMEOUT = 2.0


class LineTooLong(Exception):
    """A line over the connection's `max_line` was skipped; the connection is still usable.

    `head` and `tail` are its first and last bytes (up to 200 each), for the log and to tell
    which request it answered."""

    def __init__(self, size: int, limit: int, head: bytes, tail: bytes) -> None:
        super().__init__(f"skipped a line of {size} bytes (more than {limit})")
        self.size = size
        self.limit = limit
        self.head = head
        self.tail = tail


class Connection(Protocol):
    async def send_line(self, line: bytes) -> None:
        """Write `line` and a newline, and wait until the peer has taken it (drain)."""
        ...

    def write_now(self, line: bytes) -> bool:
        """Write `line` and a newline at once if no other write is under way and the send
        buffer has room; False, with nothing written, otherwise."""
        ...

    async def read_line(self) -> bytes:
        """The next line without its newline; b"" at end of stream. Raises LineTooLong."""
        ...

    async def close(self) -> None: ...


class Transport(Protocol):
    description: str

    async def connect(self) -> Connection: ...


class StreamConnection:
    """A connection over an asyncio stream pair (socket or pipes).

    Built with `limit=READ_CHUNK` on the reader: lines of any length up to `max_line` are
    assembled from pieces, so the stream's own limit never cuts one.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        process: asyncio.subprocess.Process | None = None,
        *,
        max_line: int = MAX_LINE,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._process = process
        self._write_lock = asyncio.Lock()
        self.max_line = max_line

    async def send_line(self, line: bytes) -> None:
        async with self._write_lock:
            if self._writer.transport.is_closing():
                # uvloop raises RuntimeError for a write to a closed handle: say it as what
                # it is, a connection that is gone.
                raise ConnectionResetError("the connection is closed")
            self._writer.write(line + b"\n")
            await self._writer.drain()

    def write_now(self, line: bytes) -> bool:
        transport = self._writer.transport
        if self._write_lock.locked() or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > transport.get_write_buffer_limits()[0]:
            return False  # the daemon is not reading: the writer waits for it to drain
        self._writer.write(line + b"\n")
        return True

    async def read_line(self) -> bytes:
        while True:
            line = await self._read_raw_line()
            if not line:
                return b""  # end of stream
            line = line.rstrip(b"\r\n")
            if line:  # blank lines carry nothing; b"" must mean the end
                return line

    async def _read_raw_line(self) -> bytes:
        """The next line with its newline (without one only at the end of the stream)."""
        pieces: list[bytes] = []
        size = 0
        head = tail = b""
        while True:
            try:
                piece = await self._reader.readuntil(b"\n")
                done = True
            except asyncio.LimitOverrunError as exc:
                # Not a whole line yet: take what is buffered and keep reading.
                piece = await self._reader.readexactly(max(exc.consumed, 1))
                done = False
            except asyncio.IncompleteReadError as exc:  # end of stream
                piece = exc.partial
                done = True
            if not size:
                head = piece[:200]
            size += len(piece)
            tail = (tail + piece[-200:])[-200:]
            if size <= self.max_line + 1:  # + 1: the newline
                pieces.append(piece)
            else:
                pieces.clear()  # over the limit: let go of it at once, skip the rest
            if done:
                break
        if size > self.max_line + 1:
            raise LineTooLong(size, self.max_line, head, tail.rstrip(b"\r\n"))
        return b"".join(pieces)

    async def close(self) -> None:
        transport = self._writer.transport
        if transport.get_write_buffer_size():
            # Unwritten data behind a peer that does not read (stopped, hung): a clean close
            # would wait for it forever.
            transport.abort()
        else:
            self._writer.close()
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), CLOSE_TIMEOUT)
        process = self._process
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), CLOSE_TIMEOUT)
            except TimeoutError:  # a stopped process does not act on SIGTERM
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()


class UnixTransport:
    def __init__(self, path: Path | str, *, max_line: int = MAX_LINE) -> None:
        self.path = Path(path)
        self.max_line = max_line
        self.description = f"unix://{self.path}"

    async def connect(self) -> Connection:
        reader, writer = await asyncio.open_unix_connection(str(self.path), limit=READ_CHUNK)
        return StreamConnection(reader, writer, max_line=self.max_line)


class TcpTransport:
    def __init__(self, host: str, port: int, *, max_line: int = MAX_LINE) -> None:
        self.host = host
        self.port = port
        self.max_line = max_line
        self.description = f"tcp://{host}:{port}"

    async def connect(self) -> Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=READ_CHUNK)
        return StreamConnection(reader, writer, max_line=self.max_line)


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
            limit=READ_CHUNK,
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
