"""Receiving under load, for the latency figures: `listen` runs the consumers (listeners.py,
each a process of its own) while outside users send at a steady rate, and `reference`
measures, in the same run, what stands between an outside user's send and a consumer even
without the service in between:

- the daemon's own hand-over: the same load at the same rate, read by a raw JSON-RPC client
  of the daemon that subscribes as the service does (listeners.py, `raw`), with the service
  stopped;
- one synced commit on this disk: the inbox commits every received message (SQLite, WAL,
  synchronous=FULL) before any consumer sees it, so a message cannot reach one sooner than
  that after the service read it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signal_rest.bench.generator import Sent, send, sender_of
from signal_rest.bench.listeners import CONSUMERS, RAW
from signal_rest.bench.processes import ACCOUNT, BenchError, Service, World, wait_up
from signal_rest.bench.report import Check
from signal_rest.bench.stats import percentile

__all__ = [
    "FULL",
    "SHORT",
    "Size",
    "commit_latency",
    "in_order",
    "latencies_ms",
    "listen",
    "missing",
    "reference",
]

# Seconds the listeners may take to finish once the last message is sent (each gives up by
# itself after a minute without a new message).
IDLE_LIMIT = 600
# Commits timed for the disk's figure.
COMMITS = 300


@dataclass(frozen=True)
class Size:
    messages: int
    warmup: int


FULL = Size(messages=10_000, warmup=1_000)
SHORT = Size(messages=300, warmup=50)


def latencies_ms(arrivals: list[list[int]], size: Size) -> list[float]:
    """Each arrival's latency (arrived − sent, `[seq, sent_ns, arrived_ns]`) in ms, the
    warm-up left out."""
    return [(got - sent) / 1e6 for seq, sent, got in arrivals if seq >= size.warmup]


def missing(seqs: list[int], size: Size) -> int:
    """How many of the `size.messages` sent never arrived."""
    return size.messages - len(set(seqs) & set(range(size.messages)))


def in_order(seqs: list[int]) -> bool:
    """Whether each sender's messages arrived in the order they were sent."""
    last: dict[str, int] = defaultdict(lambda: -1)
    for seq in seqs:
        sender = sender_of(seq)
        if seq <= last[sender]:
            return False
        last[sender] = seq
    return True


def listen(
    world: World, service: Service | None, name: str, messages: int, rate: float, *listeners: str
) -> tuple[Sent, dict[str, Any]]:
    """`messages` sent at `rate` to the account of `service` while the listeners (named; all
    three consumers by default) receive them, each in a process of its own (its log:
    NAME-LISTENER.log); what was sent, and the listeners' results by name. With no service,
    the listener (RAW) reads the daemon itself."""
    names = listeners or tuple(CONSUMERS)
    outs = {one: world.root / f"{name}-{one}.json" for one in names}
    processes = {
        one: world.helper(
            f"{name}-{one}",
            "signal_rest.bench.listeners",
            str(world.socket) if service is None else str(service.port),
            ACCOUNT,
            str(messages),
            str(out),
            one,
        )
        for one, out in outs.items()
    }
    for one, out in outs.items():
        ready = out.with_name(out.name + ".ready")
        wait_up(f"the {name} {one}", processes[one], ready.exists, seconds=30)
    sent = send(world.socket, count=messages, rate=rate)
    results: dict[str, Any] = {}
    for one, out in outs.items():
        process = processes[one]
        try:
            process.process.wait(IDLE_LIMIT)
        except subprocess.TimeoutExpired:
            raise BenchError(f"the {name} {one} did not finish:\n{process.tail()}") from None
        if not out.exists():
            raise BenchError(f"the {name} {one} wrote no results:\n{process.tail()}")
        results.update(json.loads(out.read_text()))
    return sent, results


def commit_latency(directory: Path, count: int = COMMITS) -> list[float]:
    """Milliseconds each of `count` one-row commits took in a new SQLite file in `directory`,
    made as the inbox makes its commits (WAL, synchronous=FULL); the file is removed after."""
    path = directory / "commit-floor.sqlite3"
    times: list[float] = []
    try:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, payload TEXT)")
            row = "x" * 600  # about a text message's envelope
            for _ in range(count):
                start = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO rows (payload) VALUES (?)", (row,))
                conn.execute("COMMIT")
                times.append((time.perf_counter() - start) * 1000)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return times


def reference(world: World, figure: str, size: Size, rate: float) -> tuple[str, Check]:
    """The reference column's text: the daemon → raw client latency at `rate` (seq numbers
    and warm-up as the figure's own), then one synced commit here; and the check that the raw
    client got every message. Run with no service up (the raw client is the only reader)."""
    sent, results = listen(world, None, f"{figure}-reference", size.messages, rate, RAW)
    data = results[RAW]
    latencies = latencies_ms(data["arrivals"], size)
    lost = missing([a[0] for a in data["arrivals"]], size)
    problems = list(data["errors"]) + sent.errors[:1]
    ok = not problems and lost == 0
    check = Check(
        f"{figure} reference: the raw JSON-RPC client got every one of {size.messages:,} messages",
        ok,
        "" if ok else "; ".join(problems) or f"{lost} missing",
    )
    raw = "daemon → raw JSON-RPC client: " + (
        f"p50 {percentile(latencies, 50):.1f} · p99 {percentile(latencies, 99):.1f} ms"
        if latencies
        else "nothing arrived"
    )
    commits = commit_latency(world.root)
    disk = (
        f"one synced commit here: p50 {percentile(commits, 50):.1f} · "
        f"p99 {percentile(commits, 99):.1f} ms"
    )
    return f"{raw}; {disk}", check
