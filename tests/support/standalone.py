"""The sandbox run on its own, as `signal-rest sandbox`: a daemon the service reaches with
`signal_cli_url`, as it would reach a signal-cli daemon run by the user elsewhere; and the service
itself as a child process in front of it (`ServiceProcess`), for tests that kill it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.support.realcli import free_port


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
        _stop(self.process)


class ServiceProcess:
    """`signal-rest serve` in a child process in front of `daemon` (a sandbox run on its own),
    killed and started again on the same data dir; `settings` go in as SIGNAL_REST_* variables."""

    def __init__(self, data_dir: Path, daemon: Path, **settings: str) -> None:
        self.data_dir = data_dir
        self.daemon = daemon
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **{f"SIGNAL_REST_{k.upper()}": v for k, v in settings.items()}}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "signal_rest",
                "serve",
                "--signal-cli-url",
                f"unix://{self.daemon}",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--log-level",
                "warn",
            ],
            env=self.env,
        )
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, "signal-rest exited"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 204:
                    return
            assert time.monotonic() < deadline, "signal-rest did not become healthy"
            time.sleep(0.05)

    def register(self, sandbox: SandboxProcess, number: str) -> None:
        """Register `number` as an account, with the code the sandbox "sent"."""
        with httpx.Client(base_url=self.url, timeout=30) as client:
            assert client.post(f"/v1/register/{number}").status_code == 201
            code = sandbox.call("sandbox.getVerificationCode", {"number": number})["code"]
            assert client.post(f"/v1/register/{number}/verify/{code}").status_code == 201

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            _stop(self.process)

    def stored(self, account: str) -> int:
        """Messages of `account` committed to the inbox."""
        with contextlib.closing(sqlite3.connect(self.data_dir / "inbox.sqlite3")) as conn:
            count: int = conn.execute(
                "SELECT COUNT(*) FROM messages WHERE account = ?", (account,)
            ).fetchone()[0]
            return count


@contextlib.contextmanager
def serving(
    sandbox: SandboxProcess, service: ServiceProcess, account: str
) -> Iterator[tuple[SandboxProcess, ServiceProcess]]:
    """`service` started on `sandbox` with `account` registered; both stopped at the end."""
    try:
        service.start()
        service.register(sandbox, account)
        yield sandbox, service
    finally:
        service.stop()
        sandbox.stop()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL when it has not exited within 20 s."""
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
