"""The `signal-rest` command, run as a user runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import httpx

import signal_rest

SIGNAL_REST = [sys.executable, "-m", "signal_rest"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, proc: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def test_serve_sandbox_reads_the_port_from_the_environment(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PORT": str(port)}
    proc = subprocess.Popen(
        [*SIGNAL_REST, "serve", "--sandbox", "--data-dir", str(tmp_path / "data")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        about = _wait_for(f"http://127.0.0.1:{port}/v1/about", proc)
        assert about.json()["mode"] == "json-rpc"
        assert httpx.get(f"http://127.0.0.1:{port}/v1/health").status_code == 204
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    # A graceful shutdown; uvicorn then re-raises SIGTERM so the exit status names it.
    assert b"Finished server process" in stderr
    assert proc.returncode == -signal.SIGTERM
    assert (tmp_path / "data" / "inbox.sqlite3").exists()
    assert (tmp_path / "data" / "sandbox" / "sandbox.sqlite3").exists()


def test_serve_refuses_two_backends() -> None:
    result = subprocess.run(
        [*SIGNAL_REST, "serve", "--sandbox", "--signal-cli-url", "tcp://127.0.0.1:1"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "choose one of --sandbox, --signal-cli and --signal-cli-url" in result.stderr


def test_serve_refuses_a_malformed_signal_cli_url(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SIGNAL_REST, "serve", "--signal-cli-url", "http://x", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "signal-rest: 'http://x': expected tcp://HOST:PORT or unix:///PATH"
    )


def test_version_is_the_installed_packages() -> None:
    result = subprocess.run([*SIGNAL_REST, "--version"], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (
        0,
        f"signal-rest, version {metadata.version('signal-rest')}\n",
    )
    assert metadata.version("signal-rest") == signal_rest.__version__


def test_sandbox_command_serves_signal_clis_protocol_over_tcp(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [*SIGNAL_REST, "sandbox", "--data-dir", str(tmp_path), "--tcp", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "the sandbox did not listen"
                time.sleep(0.1)
        with conn, conn.makefile("rwb") as stream:
            stream.write(b'{"jsonrpc":"2.0","id":1,"method":"version"}\n\n')
            stream.flush()
            assert stream.readline() == (
                b'{"jsonrpc":"2.0","result":{"version":"0.13.19"},"id":1}\n'
            )
            assert stream.readline() == (
                b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"Empty input line",'
                b'"data":null},"id":null}\n'
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
