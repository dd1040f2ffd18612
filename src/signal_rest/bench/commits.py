"""Figure: messages committed to the inbox per second, outside users → sandbox → service →
inbox, with no consumer connected.

Outside users send N messages as fast as the sandbox takes them (generator.py, pipelined). The
time runs from the first send to the moment the last one is committed: a thread reads the
service's inbox file read-only every few ms (SQLite shows a reader only committed rows, so this
sees commits, not deliveries, and costs the service nothing but a shared lock now and then; the
`signal_rest_inbox_depth` gauge would cost it an HTTP request and a query per look).

The reference, in the same run and with the service stopped: what the sandbox hands over by
itself, to a raw JSON-RPC client that subscribes as the service does (`subscribeReceive` on a
sandbox in manual receive mode) and only counts the `receive` notifications.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

from signal_rest.bench.generator import parse, send
from signal_rest.bench.options import Options
from signal_rest.bench.processes import ACCOUNT, BenchError, World
from signal_rest.bench.report import Check, Figure, Outcome

__all__ = ["measure"]

GOAL = 5000.0
FULL, SHORT = 20_000, 1_000
# Seconds between two looks at the inbox file.
LOOK = 0.002
# Seconds without progress after which a side gives up.
STALL = 60.0
MARK = "bench "


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


class Commits(threading.Thread):
    """Counts the benchmark messages of ACCOUNT committed to the inbox at `path` until there
    are `count`; `done` is the monotonic time it saw the last one."""

    def __init__(self, path: Path, count: int) -> None:
        super().__init__(name="commits", daemon=True)
        self.path = path
        self.count = count
        self.seen = 0
        self.done: float | None = None
        self.error = ""

    def run(self) -> None:
        try:
            with contextlib.closing(_open(self.path)) as conn:
                self._watch(conn)
        except sqlite3.Error as exc:
            self.error = f"reading the inbox: {exc}"

    def _watch(self, conn: sqlite3.Connection) -> None:
        # Only the rows since the last look are counted: each look costs what arrived since.
        sql = (
            "SELECT MAX(id), COALESCE(SUM(instr(payload, ?) > 0), 0) FROM messages "
            "WHERE account = ? AND id > ?"
        )
        last_id, progress = 0, time.monotonic()
        while self.seen < self.count:
            top, new = conn.execute(sql, (MARK, ACCOUNT, last_id)).fetchone()
            now = time.monotonic()
            if top is not None:
                last_id, self.seen, progress = top, self.seen + new, now
            elif now - progress > STALL:
                self.error = f"no commit for {STALL:.0f} s, at {self.seen} of {self.count}"
                return
            if self.seen < self.count:
                time.sleep(LOOK)
        self.done = time.monotonic()


class HandedOver(threading.Thread):
    """A raw JSON-RPC client of the sandbox that subscribes like the service and counts the
    benchmark messages notified until there are `count`."""

    def __init__(self, path: Path, count: int) -> None:
        super().__init__(name="handed-over", daemon=True)
        self.count = count
        self.seen = 0
        self.done: float | None = None
        self.error = ""
        self.conn = socket.socket(socket.AF_UNIX)
        self.conn.connect(str(path))
        self.conn.settimeout(STALL)
        self.lines = self.conn.makefile("rb")
        request = {"jsonrpc": "2.0", "id": 1, "method": "subscribeReceive"}
        self.conn.sendall(json.dumps(request).encode() + b"\n")
        # What was queued for the account may be notified before the answer comes.
        answer: dict[str, object] = {}
        while answer.get("id") != 1:
            answer = json.loads(self.lines.readline() or b'{"id": 1}')
        if "result" not in answer:
            raise BenchError(f"subscribeReceive: {answer}")

    def run(self) -> None:
        mark = f'"message":"{MARK}'.encode()
        try:
            while self.seen < self.count:
                line = self.lines.readline()
                if not line:
                    self.error = "the sandbox closed the connection"
                    return
                if b'"method":"receive"' in line and mark in line:
                    self.seen += 1
            self.done = time.monotonic()
        except TimeoutError:
            self.error = f"nothing for {STALL:.0f} s, at {self.seen} of {self.count}"
        finally:
            self.lines.close()
            self.conn.close()


def _stored(path: Path) -> list[int]:
    """The seq of every benchmark message of ACCOUNT in the inbox, in commit order."""
    with contextlib.closing(_open(path)) as conn:
        rows = conn.execute(
            "SELECT payload FROM messages WHERE account = ? ORDER BY id", (ACCOUNT,)
        ).fetchall()
    seqs = []
    for (payload,) in rows:
        data = json.loads(payload).get("envelope", {}).get("dataMessage") or {}
        text = data.get("message")
        if isinstance(text, str) and text.startswith(MARK):
            seqs.append(parse(text)[0])
    return seqs


def _rate(count: int, start: float, done: float | None) -> float:
    return count / (done - start) if done and done > start else 0.0


def measure(world: World, options: Options) -> Outcome:
    count = SHORT if options.short else FULL
    service = world.service("commits")
    world.register(service)
    inbox = service.data_dir / "inbox.sqlite3"
    if not inbox.exists():
        raise BenchError(f"no inbox at {inbox}:\n{service.tail()}")
    commits = Commits(inbox, count)
    commits.start()
    start = time.monotonic()
    sent = send(world.socket, count=count, rate=None)
    commits.join(STALL * 10)
    service.alive()
    stored = _stored(inbox)
    service.stop()

    # The reference: the sandbox alone, handing the next N over to a raw client.
    handed = HandedOver(world.socket, count)
    handed.start()
    ref_start = time.monotonic()
    ref_sent = send(world.socket, count=count, rate=None, first=count)
    handed.join(STALL * 10)

    rate = _rate(count, start, commits.done)
    alone = _rate(count, ref_start, handed.done)
    ratio = f" ({rate / alone:.2f} × the sandbox alone)" if alone else ""
    figure = Figure(
        f"inbox commits/s ({count:,} sent as fast as the sandbox takes them, no consumer)",
        f"{rate:,.0f}/s{ratio}",
        f"sandbox → raw JSON-RPC client: {alone:,.0f}/s",
        f"≥ {GOAL:,.0f}/s",
        ok=rate >= GOAL,
    )
    times = Counter(stored)
    missing = count - len(set(stored) & set(range(count)))
    repeated = sum(n - 1 for n in times.values())
    stored_ok = not commits.error and missing == 0 and repeated == 0 and len(stored) == count
    checks = [
        Check(
            f"inbox: {count:,} sends answered, twice (service, then the raw client)",
            sent.answered == count and ref_sent.answered == count,
            "; ".join((sent.errors + ref_sent.errors)[:3]),
        ),
        Check(
            f"inbox: every one of {count:,} messages committed exactly once",
            stored_ok,
            ""
            if stored_ok
            else commits.error or f"{len(stored)} stored, {missing} missing, {repeated} repeated",
        ),
        Check(
            f"raw client: every one of {count:,} messages notified",
            handed.done is not None,
            handed.error,
        ),
    ]
    return Outcome([figure], checks)
