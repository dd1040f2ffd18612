"""A fast HTTP load generator of our own, for machines without `wrk`: a few processes, each an
event loop (uvloop where it installs) driving keep-alive HTTP/1.1 connections over bare
sockets. No HTTP library: a request is a prepared byte string, a response is its status line,
`Content-Length` and body.

    result = run(port, "POST", "/v2/send", body, connections=64, seconds=10.0,
                 status=201, needle=b"timestamp")
    result.answered, result.rate, result.bad

Each connection sends its next request when the previous answer is in, until the time is up;
then it waits for the answer of the one in flight, so every request sent is also counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import cast

__all__ = ["Load", "run"]


@dataclass
class Load:
    """What a load run got: answers, those that were not as expected (and a few of them)."""

    answered: int = 0
    bad: int = 0
    samples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


@dataclass
class _Tally:
    """One worker's count (it comes back to the parent pickled)."""

    answered: int = 0
    bad: int = 0
    samples: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    last: float = 0.0


@dataclass(frozen=True)
class _Job:
    port: int
    request: bytes
    connections: int
    start_at: float  # time.monotonic(): the same clock in every process of the machine
    stop_at: float
    status: int
    needle: bytes


class _Client(asyncio.Protocol):
    def __init__(self, job: _Job, tally: _Tally, finished: asyncio.Future[None]) -> None:
        self.job = job
        self.tally = tally
        self.finished = finished
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def go(self) -> None:
        assert self.transport is not None
        self.transport.write(self.job.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                key, _, value = line.partition(b":")
                if key.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self._answered(head, body)

    def _answered(self, head: bytes, body: bytes) -> None:
        tally = self.tally
        tally.answered += 1
        status = int(head.split(b" ", 2)[1])
        if status != self.job.status or self.job.needle not in body:
            tally.bad += 1
            if len(tally.samples) < 3:
                tally.samples.append(f"{status} {body[:200]!r}")
        now = time.monotonic()
        tally.last = now
        if now < self.job.stop_at:
            self.go()
        elif not self.finished.done():
            self.finished.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished.done():
            self.finished.set_exception(ConnectionError(f"the server closed a connection: {exc}"))


async def _drive(job: _Job) -> _Tally:
    loop = asyncio.get_running_loop()
    tally = _Tally()
    clients: list[_Client] = []
    waits: list[asyncio.Future[None]] = []
    for _ in range(job.connections):
        finished: asyncio.Future[None] = loop.create_future()
        _, client = await loop.create_connection(
            functools.partial(_Client, job, tally, finished), "127.0.0.1", job.port
        )
        clients.append(client)
        waits.append(finished)
    await asyncio.sleep(max(0.0, job.start_at - time.monotonic()))
    tally.started = time.monotonic()
    for client in clients:
        client.go()
    for result in await asyncio.gather(*waits, return_exceptions=True):
        if isinstance(result, BaseException) and len(tally.errors) < 3:
            tally.errors.append(str(result))
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    return tally


def _worker(job: _Job) -> _Tally:
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(_drive(job))
    return asyncio.run(_drive(job))


def run(
    port: int,
    method: str,
    path: str,
    body: bytes | None,
    *,
    connections: int,
    seconds: float,
    status: int,
    needle: bytes,
    processes: int | None = None,
) -> Load:
    """`connections` keep-alive connections, spread over `processes` (default: the CPU
    count), each sending `method path` with `body` for `seconds`."""
    processes = max(1, min(processes or os.cpu_count() or 1, connections))
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    request = (head + "\r\n").encode() + (body or b"")
    shares = [connections // processes + (n < connections % processes) for n in range(processes)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        # Workers start (imports, connections) before the common start time.
        start_at = time.monotonic() + 1.0 + 0.2 * processes
        jobs = [
            _Job(port, request, share, start_at, start_at + seconds, status, needle)
            for share in shares
        ]
        tallies = list(pool.map(_worker, jobs))
    load = Load()
    for tally in tallies:
        load.answered += tally.answered
        load.bad += tally.bad
        load.samples += tally.samples[: 3 - len(load.samples)]
        load.errors += tally.errors
    # From the first worker's start (one that was late to start just sent less) to the last
    # answer.
    load.seconds = max(t.last for t in tallies) - min(t.started for t in tallies)
    return load
