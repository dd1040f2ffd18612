"""A `signal-rest serve` started as a user starts it (a command line in a child process), for
the tests of what is installed and how it is started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.waiting import wait_until

__all__ = ["Served", "clean_env", "serving"]


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without what would point Python at this checkout, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **extra}


@dataclass
class Served:
    client: httpx.Client
    process: subprocess.Popen[str]
    stdout: str = ""  # what it wrote, once it has ended
    stderr: str = ""


@contextlib.contextmanager
def serving(argv: Sequence[str], port: int, *, cwd: Path, env: dict[str, str]) -> Iterator[Served]:
    """Run `argv` until it answers GET /v1/about on `port`; SIGTERM it at the end."""
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

    def answers() -> bool:
        assert proc.poll() is None, f"{argv[0]} exited: {proc.communicate()}"
        try:
            client.get("/v1/about")
        except httpx.TransportError:
            return False
        return True

    served = Served(client, proc)
    try:
        wait_until(answers, f"{argv[0]} to answer on port {port}", timeout=60)
        yield served
    finally:
        client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        served.stdout, served.stderr = proc.communicate(timeout=30)
