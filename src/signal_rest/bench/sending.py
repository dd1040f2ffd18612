"""Figure: the latency of `POST /v2/send` against the same `send` as a raw JSON-RPC call.

ACCOUNT sends a text to an outside user of the sandbox, one request at a time: through the
service on ONE keep-alive HTTP connection, and as signal-cli's `send` on ONE persistent
connection to the sandbox's socket, with the params the service sends for that body
(services/sending.py: `message`, `notify-self`, `account`, `recipient`). The two alternate, in
pairs whose order alternates too, so whatever else the machine does hits both alike. The ratio
of the medians is what the goal is about: what the service adds to a send.

Two more requests take their turn in each round, each on a keep-alive connection of its own
to the hello-world server (hello.py, served as the service is): `GET /bare`, answered by a
plain ASGI callable in front of FastAPI, and `GET /`, a FastAPI route. The service's edge calls
`/v2/send` directly, without FastAPI's router (edge/stack.py), so (raw + the bare round trip)
÷ raw is the lowest ratio this server can show for it: what is left above that is the
service's own work on the way. The reference column prints both floors.

Both clients are plain sockets (no HTTP library): what is timed is the service and the sandbox,
from the request's first byte written to its answer's last byte read.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signal_rest.bench.options import Options
from signal_rest.bench.processes import ACCOUNT, BenchError, World
from signal_rest.bench.report import Check, Figure, Outcome
from signal_rest.bench.stats import percentile
from signal_rest.bench.throughput import hello_server

__all__ = ["RECIPIENT", "HttpConnection", "measure"]

RECIPIENT = "+4915100000201"  # an outside user: the sandbox keeps what its phone receives
GOAL_RATIO = 1.3
LABEL = "send latency: POST /v2/send ÷ the same raw JSON-RPC `send` (one connection each)"


@dataclass(frozen=True)
class Size:
    pairs: int  # one /v2/send and one raw `send` each
    warmup: int  # pairs left out of the percentiles (not out of the checks)


FULL = Size(pairs=2_000, warmup=100)
SHORT = Size(pairs=200, warmup=20)


class HttpConnection:
    """One keep-alive HTTP/1.1 connection: `exchange(format(...))` answers (status, body)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def format(self, method: str, path: str, body: bytes) -> bytes:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.sock.sendall(request)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        length = 0
        for line in head[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-length":
                length = int(value)
        while len(self.buffer) < end + 4 + length:
            self._fill()
        body = self.buffer[end + 4 : end + 4 + length]
        self.buffer = self.buffer[end + 4 + length :]
        return status, body

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise BenchError("the service closed the keep-alive connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


class RpcConnection:
    """One persistent JSON-RPC connection to the sandbox's socket."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("rb")

    def exchange(self, line: bytes) -> bytes:
        self.sock.sendall(line)
        answer = self.reader.readline()
        if not answer:
            raise BenchError("the sandbox closed the JSON-RPC connection")
        return answer

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class Floor:
    """`GET path` of the hello-world server on a connection of its own: round trips and
    wrong answers."""

    def __init__(self, connection: HttpConnection, path: str) -> None:
        self.connection = connection
        self.request = connection.format("GET", path, b"")
        self.times: list[float] = []
        self.bad: list[str] = []

    def exchange(self, *, keep: bool) -> None:
        start = time.perf_counter_ns()
        status, answer = self.connection.exchange(self.request)
        took = time.perf_counter_ns() - start
        if status != 200 or b"hello" not in answer:
            self.bad.append(f"{status} {answer[:200]!r}")
        if keep:
            self.times.append(took)

    def close(self) -> None:
        self.connection.close()


def _http_ok(status: int, body: bytes) -> bool:
    if status != 201:
        return False
    entries = json.loads(body)
    return isinstance(entries, list) and len(entries) == 1 and "timestamp" in entries[0]


def _rpc_ok(answer: bytes) -> bool:
    result = json.loads(answer).get("result")
    return isinstance(result, dict) and "timestamp" in result


def _ms(values: list[float]) -> tuple[float, float]:
    return percentile(values, 50) / 1e6, percentile(values, 90) / 1e6


def measure(world: World, options: Options) -> Outcome:
    size = SHORT if options.short else FULL
    service = world.service("sending")
    world.register(service)
    world.control("sandbox.setNumber", {"number": RECIPIENT, "registered": True})
    hello, hello_port, _server = hello_server(world)
    http = HttpConnection(service.port)
    rpc = RpcConnection(world.socket)
    fastapi = Floor(HttpConnection(hello_port), "/")
    bare = Floor(HttpConnection(hello_port), "/bare")
    http_times: list[float] = []
    rpc_times: list[float] = []
    http_bad: list[str] = []
    rpc_bad: list[str] = []
    try:
        for n in range(size.pairs):
            text = f"latency {n}"
            body = {"message": text, "number": ACCOUNT, "recipients": [RECIPIENT]}
            request = http.format("POST", "/v2/send", json.dumps(body).encode())
            # What services/sending.py makes of that body: v2_params, then account, recipient.
            params: dict[str, Any] = {"message": text, "notify-self": True, "account": ACCOUNT}
            params["recipient"] = [RECIPIENT]
            line = {"jsonrpc": "2.0", "id": n, "method": "send", "params": params}
            raw = json.dumps(line).encode() + b"\n"
            for kind in ("http", "rpc") if n % 2 == 0 else ("rpc", "http"):
                start = time.perf_counter_ns()
                if kind == "http":
                    status, answer = http.exchange(request)
                    took = time.perf_counter_ns() - start
                    if not _http_ok(status, answer):
                        http_bad.append(f"{status} {answer[:200]!r}")
                    if n >= size.warmup:
                        http_times.append(took)
                else:
                    answer = rpc.exchange(raw)
                    took = time.perf_counter_ns() - start
                    if not _rpc_ok(answer):
                        rpc_bad.append(answer[:200].decode(errors="replace"))
                    if n >= size.warmup:
                        rpc_times.append(took)
            for floor in (bare, fastapi) if n % 2 == 0 else (fastapi, bare):
                floor.exchange(keep=n >= size.warmup)
    finally:
        http.close()
        rpc.close()
        bare.close()
        fastapi.close()
        hello.stop()
        service.stop()
    http_p50, http_p90 = _ms(http_times)
    rpc_p50, rpc_p90 = _ms(rpc_times)
    bare_p50, fastapi_p50 = _ms(bare.times)[0], _ms(fastapi.times)[0]
    ratio = http_p50 / rpc_p50
    figure = Figure(
        LABEL,
        f"{ratio:.2f} × (/v2/send p50 {http_p50:.3f} · p90 {http_p90:.3f} ms)",
        f"raw JSON-RPC p50 {rpc_p50:.3f} · p90 {rpc_p90:.3f} ms; the server's round trip p50 "
        f"{bare_p50:.3f} ms bare ASGI, {fastapi_p50:.3f} ms a FastAPI route (raw + it = "
        f"{(rpc_p50 + bare_p50) / rpc_p50:.2f} × / {(rpc_p50 + fastapi_p50) / rpc_p50:.2f} ×)",
        f"≤ {GOAL_RATIO:g} ×",
        ok=ratio <= GOAL_RATIO,
    )
    checks = [
        Check(
            f"send latency: every one of {size.pairs:,} /v2/send answered 201 with a timestamp",
            not http_bad,
            "; ".join(http_bad[:3]),
        ),
        Check(
            f"send latency: every one of {size.pairs:,} raw `send` calls answered with a result",
            not rpc_bad,
            "; ".join(rpc_bad[:3]),
        ),
        Check(
            f"send latency: every one of {size.pairs:,} hello-world requests, bare and FastAPI, "
            "answered 200",
            not bare.bad and not fastapi.bad,
            "; ".join([*bare.bad, *fastapi.bad][:3]),
        ),
    ]
    return Outcome([figure], checks)
