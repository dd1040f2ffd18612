"""The consumers of the latency figure: named websockets and a named poller, each recording
when every message reached it. The benchmark runs each in a process of its own, as separate
clients are (so their work shares no GIL with each other or with the load generator):

    python -m signal_rest.bench.listeners PORT ACCOUNT COUNT OUT [NAME,NAME…]
    python -m signal_rest.bench.listeners SOCKET ACCOUNT COUNT OUT raw

(NAMEs: of CONSUMERS, or `plain` for the unnamed websocket; default: the three CONSUMERS.
`raw` is the reference: a JSON-RPC client of the daemon at SOCKET that subscribes as the
service does, with no service in between.)

It touches `OUT.ready` once every consumer is connected, and writes `OUT` (JSON: per consumer,
`[seq, sent_ns, arrived_ns]` for every copy it got, in arrival order, and its errors) once each
has COUNT distinct messages, or after a minute without progress.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from websockets.sync.client import ClientConnection, connect

from signal_rest.bench.generator import parse

__all__ = ["CONSUMERS", "KINDS", "PLAIN", "RAW", "main"]

# name -> (kind, query): two named websockets (one acking, one confirmed by pongs) and a
# named poller that acks, the three styles of named consumer there are.
CONSUMERS = {
    "ws-acks": ("websocket", "ack=true"),
    "ws-pongs": ("websocket", ""),
    "poller": ("poll", "ack=true&timeout=1"),
}
# The plain websocket every Home Assistant or signalbot user has: no consumer name, no acks.
PLAIN = "plain"
# The daemon's own notifications, read without the service: what the others are compared with.
RAW = "raw"
KINDS = {**CONSUMERS, PLAIN: ("websocket", ""), RAW: ("json-rpc", "")}
# Seconds without a new message after which a consumer gives up.
IDLE = 60.0
# Seconds to keep listening once everything arrived: a repeat would show up meanwhile.
GRACE = 0.5


class Listener(threading.Thread):
    def __init__(self, name: str, where: str, account: str, count: int) -> None:
        """`where`: the service's port, or the daemon's socket for RAW."""
        super().__init__(name=name, daemon=True)
        kind, query = KINDS[name]
        self.kind = kind
        self.account = account
        self.path = f"/v1/receive/{quote(account)}"
        if name not in (PLAIN, RAW):
            self.path += f"?consumer={name}" + (f"&{query}" if query else "")
        self.where = where
        self.count = count
        self.arrivals: list[tuple[int, int, int]] = []
        self.seen: set[int] = set()
        self.errors: list[str] = []
        self.ready = threading.Event()
        self.last = time.monotonic()
        self.finish = threading.Event()

    def _record(self, message: dict[str, Any], arrived: int) -> None:
        text = (message.get("envelope", {}).get("dataMessage") or {}).get("message")
        if not isinstance(text, str) or not text.startswith("bench "):
            return
        seq, sent = parse(text)
        self.arrivals.append((seq, sent, arrived))
        self.seen.add(seq)
        self.last = time.monotonic()

    def done(self) -> bool:
        return len(self.seen) >= self.count

    def _over(self) -> bool:
        return self.finish.is_set() or time.monotonic() - self.last > IDLE

    def run(self) -> None:
        try:
            if self.kind == "websocket":
                self._websocket()
            elif self.kind == "json-rpc":
                self._json_rpc()
            else:
                self._poll()
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.ready.set()

    def _websocket(self) -> None:
        acks = "ack=true" in self.path
        ws: ClientConnection
        with connect(f"ws://127.0.0.1:{self.where}{self.path}", open_timeout=10) as ws:
            self.ready.set()
            while not self._over():
                try:
                    frame = ws.recv(timeout=0.2)
                except TimeoutError:
                    continue
                arrived = time.monotonic_ns()
                message = json.loads(frame)
                self._record(message, arrived)
                if acks:
                    ws.send(json.dumps({"ack": message["id"]}))
        # A clean close: the frames it read are confirmed, nothing is sent again.

    def _poll(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", int(self.where), timeout=30)
        acked: int | None = None
        self.ready.set()
        while not self._over():
            path = self.path if acked is None else f"{self.path}&acked={acked}"
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            arrived = time.monotonic_ns()
            if response.status != 200:
                self.errors.append(f"poll: {response.status} {body[:200]!r}")
                return
            for message in json.loads(body):
                self._record(message, arrived)
                acked = message["id"]
        conn.close()

    def _json_rpc(self) -> None:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.connect(self.where)
            conn.settimeout(0.2)
            request = {"jsonrpc": "2.0", "id": 1, "method": "subscribeReceive"}
            conn.sendall(json.dumps(request).encode() + b"\n")
            buffered = b""
            while not self._over():
                try:
                    data = conn.recv(1 << 16)
                except TimeoutError:
                    continue
                arrived = time.monotonic_ns()
                if not data:
                    raise ConnectionError("the daemon closed the connection")
                *lines, buffered = (buffered + data).split(b"\n")
                for line in lines:
                    self._notified(json.loads(line), arrived)

    def _notified(self, line: dict[str, Any], arrived: int) -> None:
        if line.get("id") == 1:  # the subscription's answer: messages come from now on
            if "result" not in line:
                raise RuntimeError(f"subscribeReceive: {line.get('error')}")
            self.ready.set()
            return
        params = line.get("params")
        if line.get("method") != "receive" or not isinstance(params, dict):
            return
        message = params.get("result")  # subscribeReceive's form: {"subscription", "result"}
        if isinstance(message, dict) and message.get("account") == self.account:
            self._record(message, arrived)


def main() -> None:
    where, account, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    names = sys.argv[5].split(",") if len(sys.argv) > 5 else list(CONSUMERS)
    listeners = [Listener(name, where, account, count) for name in names]
    for listener in listeners:
        listener.start()
    for listener in listeners:
        listener.ready.wait(30)
    Path(f"{out}.ready").touch()
    while not all(lis.done() or lis.errors or lis._over() for lis in listeners):
        time.sleep(0.05)
    time.sleep(GRACE)
    for listener in listeners:
        listener.finish.set()
    for listener in listeners:
        listener.join(5)
    result = {
        lis.name: {"kind": lis.kind, "arrivals": lis.arrivals, "errors": lis.errors}
        for lis in listeners
    }
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
