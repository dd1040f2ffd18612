"""Outside users sending to ACCOUNT through the sandbox's control method `sandbox.send`, on ONE
persistent connection with pipelined requests (a connection per message would cost more than
the message), paced to a rate or as fast as the sandbox answers.

    sent = send(socket_path, count=10_000, rate=1000.0)   # blocks until every answer is in
    sent.answered, sent.errors, sent.rate

Each text is `bench <seq> <monotonic ns when it was written>`: CLOCK_MONOTONIC is the same in
every process of the machine, so a consumer elsewhere computes the latency from the text alone.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from signal_rest.bench.processes import ACCOUNT

__all__ = ["SENDERS", "Sent", "parse", "send"]

SENDERS = [f"+4915100000{n}" for n in (101, 102, 103, 104)]
# Requests written and not answered yet, at most: the sandbox reads ahead, but not endlessly.
WINDOW = 512


@dataclass
class Sent:
    count: int
    answered: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def parse(text: str) -> tuple[int, int]:
    """(seq, send ns) of a benchmark message's text."""
    _, seq, sent_ns = text.split(" ")
    return int(seq), int(sent_ns)


def sender_of(seq: int) -> str:
    return SENDERS[seq % len(SENDERS)]


def _read_answers(conn: socket.socket, sent: Sent, window: threading.Semaphore) -> None:
    reader = conn.makefile("rb")
    while sent.answered < sent.count:
        line = reader.readline()
        if not line:
            sent.errors.append("the sandbox closed the connection")
            return
        answer = json.loads(line)
        if "result" not in answer:
            sent.errors.append(json.dumps(answer))
        sent.answered += 1
        window.release()


def send(path: Path, *, count: int, rate: float | None, first: int = 0) -> Sent:
    """`count` messages numbered from `first`, at `rate` per second (None: as fast as the
    sandbox answers). Returns once every request is answered."""
    sent = Sent(count)
    window = threading.Semaphore(WINDOW)
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(str(path))
        reader = threading.Thread(target=_read_answers, args=(conn, sent, window), daemon=True)
        reader.start()
        start = time.monotonic()
        interval = 1 / rate if rate else 0.0
        for n in range(count):
            seq = first + n
            if interval:
                delay = start + n * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if not window.acquire(timeout=30):
                sent.errors.append(f"no answer from the sandbox for 30 s after {sent.answered}")
                break
            params = {
                "from": sender_of(seq),
                "recipient": [ACCOUNT],
                "message": f"bench {seq} {time.monotonic_ns()}",
            }
            line = {"jsonrpc": "2.0", "id": seq, "method": "sandbox.send", "params": params}
            conn.sendall(json.dumps(line).encode() + b"\n")
        sent.seconds = time.monotonic() - start
        reader.join(60)
    if sent.answered < count and not sent.errors:
        sent.errors.append(f"only {sent.answered} of {count} sends answered")
    return sent
