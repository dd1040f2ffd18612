"""The sandbox run on its own, as `signal-rest sandbox`: a daemon the service reaches with
`signal_cli_url`, as it would reach a signal-cli daemon run by the user elsewhere."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class SandboxProcess:
    """`signal-rest sandbox` in a child process, on a UNIX socket."""

    def __init__(self, root: Path) -> None:
        self.socket = root / "sandbox.sock"
        self.data_dir = root / "network"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "signal_rest",
                "sandbox",
                "--data-dir",
                str(self.data_dir),
                "--socket",
                str(self.socket),
                "--receive-mode",
                "manual",
            ]
        )
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            assert self.process.poll() is None, "the sandbox exited"
            assert time.monotonic() < deadline, "the sandbox did not open its socket"
            time.sleep(0.05)

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """One JSON-RPC call on a connection of its own (the sandbox's control methods)."""
        with socket.socket(socket.AF_UNIX) as conn:
            conn.connect(str(self.socket))
            request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
            conn.sendall(json.dumps(request).encode() + b"\n")
            answer = json.loads(conn.makefile("rb").readline())
        assert "result" in answer, answer
        return answer["result"]

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGCONT)
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
