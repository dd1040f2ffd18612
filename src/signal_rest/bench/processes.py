"""The processes a run starts: the sandbox, the service, and helpers, each a child process
whose output goes to a log file in the run's directory (printed when something goes wrong).

    world = World.start(root)          # the sandbox, with ACCOUNT registered through a service
    service = world.service("fig1")    # `signal-rest serve` on a data dir of its own
    ...
    world.stop()
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

__all__ = [
    "ACCOUNT",
    "BenchError",
    "Child",
    "Service",
    "World",
    "free_port",
    "request",
    "wait_up",
]

ACCOUNT = "+4915100000001"


class BenchError(RuntimeError):
    """A part of the run did not come up or answered what it should not: the run stops."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def request(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One HTTP request to 127.0.0.1:port; the status and the JSON answer (None if empty)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body).encode()
        headers = {} if payload is None else {"Content-Type": "application/json"}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


class Child:
    """A child process with its output in `log`."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log = log
        self._out: IO[bytes] = log.open("wb")
        self.process = subprocess.Popen(
            argv, stdout=self._out, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        """SIGTERM (a graceful shutdown), SIGKILL only if it does not end within 20 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()


def wait_up(what: str, child: Child, ready: Any, seconds: float = 60) -> None:
    """Until `ready()` is true; BenchError when `child` exits or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while not ready():
        child.alive()
        if time.monotonic() > deadline:
            raise BenchError(f"{what} did not come up within {seconds:.0f} s:\n{child.tail()}")
        time.sleep(0.05)


class Service(Child):
    """`signal-rest serve --signal-cli-url unix://…` with its own data dir; `settings` become
    SIGNAL_REST_* environment variables, as a user would set them."""

    def __init__(
        self, root: Path, name: str, daemon: Path, data: str | None = None, **settings: str
    ) -> None:
        self.port = free_port()
        self.data_dir = root / (data or name)
        env = {f"SIGNAL_REST_{key.upper()}": value for key, value in settings.items()}
        argv = [sys.executable, "-m", "signal_rest", "serve"]
        argv += ["--signal-cli-url", f"unix://{daemon}", "--data-dir", str(self.data_dir)]
        argv += ["--port", str(self.port)]
        super().__init__(f"service {name}", argv, root / f"{name}.log", env)
        wait_up(self.name, self, self._healthy)

    def _healthy(self) -> bool:
        with contextlib.suppress(OSError, http.client.HTTPException):
            return request(self.port, "GET", "/v1/health")[0] == 204
        return False


class World:
    """The sandbox (a signal-cli daemon of its own, as a user runs one) with ACCOUNT registered."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "sandbox.sock"
        argv = [sys.executable, "-m", "signal_rest", "sandbox", "--data-dir", str(root / "net")]
        argv += ["--socket", str(self.socket), "--receive-mode", "manual"]
        self.sandbox = Child("sandbox", argv, root / "sandbox.log", {})
        wait_up("the sandbox", self.sandbox, self.socket.exists)
        self.children: list[Child] = [self.sandbox]
        self.registered = False

    def control(self, method: str, params: dict[str, Any]) -> Any:
        """One control call (`sandbox.*`) on a connection of its own."""
        with socket.socket(socket.AF_UNIX) as conn:
            conn.connect(str(self.socket))
            line = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
            conn.sendall(json.dumps(line).encode() + b"\n")
            answer = json.loads(conn.makefile("rb").readline())
        if "result" not in answer:
            raise BenchError(f"{method}: {answer}")
        return answer["result"]

    def service(self, name: str, data: str | None = None, **settings: str) -> Service:
        """A service named `name` (its log: NAME.log), on the data dir `data` (default: name)."""
        service = Service(self.root, name, self.socket, data, **settings)
        self.children.append(service)
        return service

    def register(self, service: Service) -> None:
        """ACCOUNT registered as a user does it: register, the SMS code, verify (once: the
        account lives in the sandbox, every later service finds it there)."""
        if self.registered:
            return
        status, body = request(service.port, "POST", f"/v1/register/{ACCOUNT}")
        if status != 201:
            raise BenchError(f"register: {status} {body}")
        code = self.control("sandbox.getVerificationCode", {"number": ACCOUNT})["code"]
        status, body = request(service.port, "POST", f"/v1/register/{ACCOUNT}/verify/{code}")
        if status != 201:
            raise BenchError(f"verify: {status} {body}")
        self.registered = True

    def helper(self, name: str, module: str, *args: str) -> Child:
        """`python -m module args…`: a figure's own process (listeners, webhook target)."""
        argv = [sys.executable, "-m", module, *args]
        child = Child(name, argv, self.root / f"{name}.log", {})
        self.children.append(child)
        return child

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
