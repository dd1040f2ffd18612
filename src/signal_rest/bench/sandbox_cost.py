"""The sandbox's CPU time per `send`, as the throughput figure loads it (a development tool).

    python -m signal_rest.bench.sandbox_cost [--sends 5000] [--window 64] [--rounds 3]
        [--tree A=path/to/src --tree B=path/to/other/src]

Starts `signal-rest sandbox --receive-mode manual` (from each `--tree` in turn, alternating
rounds, so the machine's noise hits each alike), registers ACCOUNT, and drives it as the service
does under `wrk`: ONE connection that called `subscribeReceive` and carries pipelined `send`s
(the params services/sending.py makes of a /v2/send body) to an outside user, `window` in
flight. A send is done when it was answered and the delivery receipt its recipient's phone sends
back was notified. Printed: the sandbox's CPU µs (utime + stime of /proc/PID/stat) per send,
after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ACCOUNT = "+4915100000101"
RECIPIENT = "+4915100000201"
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class _Line:
    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("rb")

    def call(self, method: str, params: dict[str, Any]) -> Any:
        line = {"jsonrpc": "2.0", "id": 0, "method": method, "params": params}
        self.sock.sendall(json.dumps(line).encode() + b"\n")
        answer = json.loads(self.reader.readline())
        if "result" not in answer:
            raise SystemExit(f"{method}: {answer}")
        return answer["result"]


def _start(src: Path | None, root: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    sock = root / "sandbox.sock"
    argv = [sys.executable, "-m", "signal_rest", "sandbox", "--data-dir", str(root / "net")]
    argv += ["--socket", str(sock), "--receive-mode", "manual"]
    with open(root / "sandbox.log", "wb") as log:
        process = subprocess.Popen(argv, env=env, stderr=log)
    deadline = time.monotonic() + 30
    while not sock.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the sandbox did not start: {(root / 'sandbox.log').read_text()}")
        time.sleep(0.05)
    control = _Line(sock)
    control.call("register", {"account": ACCOUNT})
    code = control.call("sandbox.getVerificationCode", {"number": ACCOUNT})["code"]
    control.call("verify", {"account": ACCOUNT, "verificationCode": code})
    control.call("sandbox.setNumber", {"number": RECIPIENT, "registered": True})
    return process


def _drive(sock_path: Path, sends: int, window: int, first_id: int) -> None:
    """`sends` pipelined sends on one subscribed connection; returns once every one was
    answered and its delivery receipt notified."""
    line = _Line(sock_path)
    line.call("subscribeReceive", {})
    answered = 0
    receipts = 0
    done = threading.Semaphore(0)
    free = threading.Semaphore(window)

    def read() -> None:
        nonlocal answered, receipts
        while answered < sends or receipts < sends:
            raw = line.reader.readline()
            if not raw:
                raise SystemExit("the sandbox closed the connection")
            if b'"method":"receive"' in raw:
                receipts += 1
                continue
            if b'"timestamp"' not in raw:
                raise SystemExit(f"bad answer: {raw[:300]!r}")
            answered += 1
            free.release()
        done.release()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    for n in range(sends):
        free.acquire()
        params = {"message": f"cost {n}", "notify-self": True, "account": ACCOUNT}
        params["recipient"] = [RECIPIENT]
        request = {"jsonrpc": "2.0", "id": first_id + n, "method": "send", "params": params}
        line.sock.sendall(json.dumps(request).encode() + b"\n")
    done.acquire()
    line.sock.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", action="append", default=[], help="NAME=src dir")
    args = parser.parse_args()
    trees: list[tuple[str, Path | None]] = [
        (t.split("=", 1)[0], Path(t.split("=", 1)[1])) for t in args.tree
    ] or [("here", None)]
    results: dict[str, list[float]] = {name: [] for name, _ in trees}
    for round_no in range(args.rounds):
        order = trees if round_no % 2 == 0 else list(reversed(trees))
        for name, src in order:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                process = _start(src, root)
                try:
                    _drive(root / "sandbox.sock", args.warmup, args.window, 1)
                    before = _cpu_seconds(process.pid)
                    _drive(root / "sandbox.sock", args.sends, args.window, 10**6)
                    spent = _cpu_seconds(process.pid) - before
                finally:
                    process.terminate()
                    process.wait()
            per_send = spent / args.sends * 1e6
            results[name].append(per_send)
            print(f"round {round_no} {name}: {per_send:.1f} µs CPU per send", flush=True)
    for name, values in results.items():
        ordered = sorted(values)
        print(f"{name}: median {ordered[len(ordered) // 2]:.1f} µs/send  all {ordered}")


if __name__ == "__main__":
    main()
