"""A webhook target fast enough not to be what a webhook figure measures: a bare asyncio HTTP/1.1
server (keep-alive, Content-Length bodies) that answers every POST with 204 and remembers it.

    python -m signal_rest.bench.target PORT

`GET /records` answers what it was sent (`[[arrived_ns, webhook-id, webhook-timestamp,
webhook-signature, body], …]` in arrival order), `GET /count` how many, `DELETE /records`
forgets them. `reference(port, n)` measures what it takes alone: n POSTs, one at a time on one
keep-alive connection, as a webhook lane sends them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time

__all__ = ["main", "reference"]

NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"
RECORDED = ("webhook-id", "webhook-timestamp", "webhook-signature")


def _answer(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body


class _Target(asyncio.Protocol):
    records: list[list[object]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", ""):
                self.transport.write(_answer("501 Not Implemented", b"{}"))
                self.transport.close()
                return
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self._handle(method, path, headers, body))

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        if method == "POST":
            arrived = time.monotonic_ns()
            self.records.append(
                [arrived, *(headers.get(h) for h in RECORDED), body.decode("utf-8", "replace")]
            )
            return NO_CONTENT
        if method == "GET" and path == "/records":
            return _answer("200 OK", json.dumps(self.records).encode())
        if method == "GET" and path == "/count":
            return _answer("200 OK", json.dumps(len(self.records)).encode())
        if method == "DELETE" and path == "/records":
            self.records.clear()
            return NO_CONTENT
        return _answer("404 Not Found", b"{}")


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Target, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def reference(port: int, count: int, body: bytes) -> float:
    """POSTs per second the target takes alone: `count` of them, one at a time, keep-alive."""
    head = (
        "POST /reference HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "webhook-id: msg_0\r\nwebhook-timestamp: 0\r\nwebhook-signature: v1,x\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as conn:
        start = time.perf_counter()
        for _ in range(count):
            conn.sendall(head + body)
            answer = b""
            while not answer.endswith(b"\r\n\r\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    raise ConnectionError("the target closed the connection")
                answer += chunk
        return count / (time.perf_counter() - start)


def main() -> None:
    asyncio.run(_serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
