"""`signal-rest doctor`: what `signal-rest serve` with the same settings needs, checked before it
runs. One line per check: OK, PROBLEM with what to do, or NEXT (it passed, and here is the
step a new setup takes next); nothing is started or changed.

    for finding in diagnose(settings):
        print(finding.line())
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signal_rest.config import Settings
from signal_rest.java import Java, find_java
from signal_rest.jsonrpc.supervisor import find_signal_cli, is_script
from signal_rest.jsonrpc.transports import TcpTransport, UnixTransport, transport_from_url

__all__ = ["Finding", "diagnose"]

RPC_TIMEOUT = 5.0  # a daemon that is up answers version and listAccounts at once
VERSION_TIMEOUT = 60.0  # `signal-cli --version` starts a JVM


@dataclass(frozen=True)
class Finding:
    """One check: its name, whether it passed, and what was found or what to do. A passed
    check can still name the user's next step (`next_step`): no account yet is where every new
    setup starts, not a problem."""

    check: str
    ok: bool
    detail: str
    next_step: bool = False

    def line(self) -> str:
        label = "PROBLEM" if not self.ok else "NEXT" if self.next_step else "OK"
        return f"{label:<8} {self.check}: {self.detail}"


def diagnose(settings: Settings) -> list[Finding]:
    """Every check, in the order a user fixes them."""
    return [
        *_backend(settings),
        _data_dir(settings.data_dir),
        _port(settings.host, settings.port),
        _accounts(settings),
    ]


def _backend(settings: Settings) -> list[Finding]:
    if settings.sandbox:
        return [
            Finding("java", True, "not needed: the sandbox backend runs no signal-cli"),
            Finding("signal-cli", True, "not needed: the sandbox answers in its place"),
        ]
    if settings.signal_cli_url:
        return [
            Finding("java", True, f"not checked: signal-cli runs elsewhere, at {_url(settings)}"),
            _remote_signal_cli(settings),
        ]
    launcher = "signal-cli-native" if "native" in settings.mode else "signal-cli"
    signal_cli = find_signal_cli(settings.signal_cli or launcher)
    if signal_cli is None:
        wanted = settings.signal_cli or f"`{launcher}` on PATH"
        return [
            Finding("java", True, "not checked: no signal-cli to run it"),
            Finding(
                "signal-cli",
                False,
                f"{wanted} not found: install signal-cli and put it on PATH, give its launcher "
                "with --signal-cli PATH (SIGNAL_REST_SIGNAL_CLI), or try --sandbox",
            ),
        ]
    java = find_java()
    return [_java(signal_cli, java), _local_signal_cli(signal_cli, java.environ(os.environ))]


def _java(signal_cli: Path, java: Java) -> Finding:
    if not is_script(signal_cli):
        return Finding("java", True, f"not needed: {signal_cli} is a native binary")
    if java.problem is not None:
        return Finding("java", False, java.problem)
    return Finding("java", True, f"Java {java.version} at {java.path}")


def _local_signal_cli(signal_cli: Path, env: Mapping[str, str]) -> Finding:
    try:
        answer = subprocess.run(
            [str(signal_cli), "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Finding("signal-cli", False, f"{signal_cli} --version failed: {exc}")
    said = answer.stdout.strip() or answer.stderr.strip()
    if answer.returncode != 0 or not said.startswith("signal-cli "):
        last = said.splitlines()[-1][:200] if said else f"exit code {answer.returncode}"
        return Finding("signal-cli", False, f"{signal_cli} --version failed: {last}")
    return Finding("signal-cli", True, f"{said.splitlines()[0]} at {signal_cli}")


def _remote_signal_cli(settings: Settings) -> Finding:
    try:
        result = _rpc(settings, "version")
    except OSError as exc:
        return Finding("signal-cli", False, _unreachable(settings, exc))
    version = result.get("version") if isinstance(result, dict) else None
    return Finding("signal-cli", True, f"signal-cli {version} answers at {_url(settings)}")


def _data_dir(data_dir: Path) -> Finding:
    existing = data_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    fix = "choose another with --data-dir (SIGNAL_REST_DATA_DIR)"
    if not existing.is_dir():
        return Finding("data dir", False, f"{existing} is a file, not a directory; {fix}")
    try:
        Path(tempfile.mkdtemp(dir=existing, prefix=".signal-rest-doctor-")).rmdir()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return Finding("data dir", False, f"{data_dir} is not writable ({reason}); {fix}")
    if existing == data_dir:
        return Finding("data dir", True, f"{data_dir} is writable")
    return Finding("data dir", True, f"{data_dir} will be created (in {existing}, writable)")


def _port(host: str, port: int) -> Finding:
    address = f"{host}:{port}"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return Finding(
                "port",
                False,
                f"{address} is taken (another signal-rest?): stop what listens there or choose "
                "another port with --port (PORT)",
            )
        return Finding(
            "port", False, f"cannot listen on {address} ({exc.strerror or exc}); check --host"
        )
    return Finding("port", True, f"{address} is free")


def _accounts(settings: Settings) -> Finding:
    try:
        if settings.sandbox:
            numbers = _sandbox_accounts(settings.data_dir / "sandbox" / "sandbox.sqlite3")
        elif settings.signal_cli_url:
            numbers = [a["number"] for a in _rpc(settings, "listAccounts")]
        else:
            numbers = _signal_cli_accounts(settings.signal_cli_dir)
    except OSError as exc:
        if settings.signal_cli_url:
            return Finding("accounts", False, _unreachable(settings, exc))
        return Finding("accounts", False, f"cannot read them: {exc}")
    except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
        return Finding("accounts", False, f"cannot read them: {exc}")
    if not numbers:
        return Finding(
            "accounts",
            True,
            "none yet: register a number (POST /v1/register/{number}, then "
            "POST /v1/register/{number}/verify/{code}) or link this service as a device of a "
            "phone (GET /v1/qrcodelink)",
            next_step=True,
        )
    return Finding("accounts", True, f"{len(numbers)}: {', '.join(numbers)}")


def _sandbox_accounts(database: Path) -> list[str]:
    if not database.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT number FROM accounts ORDER BY rowid").fetchall()
    return [str(number) for (number,) in rows]


def _signal_cli_accounts(config_dir: Path) -> list[str]:
    # signal-cli keeps its account list in data/accounts.json ({"accounts": [{"number": …}]}).
    listing = config_dir / "data" / "accounts.json"
    if not listing.exists():
        return []
    return [str(a["number"]) for a in json.loads(listing.read_text())["accounts"]]


def _url(settings: Settings) -> str:
    return str(settings.signal_cli_url)


def _unreachable(settings: Settings, exc: OSError) -> str:
    return (
        f"nothing answers at {_url(settings)} ({exc.strerror or exc}): start the daemon "
        "(signal-cli daemon --tcp/--socket) or fix --signal-cli-url (SIGNAL_REST_SIGNAL_CLI_URL)"
    )


def _rpc(settings: Settings, method: str) -> Any:
    """One JSON-RPC call on a connection of its own; OSError when no answer comes in time."""
    try:
        transport = transport_from_url(_url(settings))
    except ValueError as exc:
        raise OSError(str(exc)) from None
    with _connect(transport) as conn:
        conn.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method}).encode() + b"\n")
        for line in conn.makefile("rb"):
            try:
                message = json.loads(line)
            except ValueError:
                raise OSError("the daemon answered no JSON-RPC") from None
            if message.get("id") != 1:
                continue  # a notification (a message received) before the answer
            if "error" in message:
                raise OSError(message["error"].get("message", "an error"))
            return message.get("result")
    raise OSError("the daemon closed the connection without an answer")


@contextlib.contextmanager
def _connect(transport: UnixTransport | TcpTransport | Any) -> Iterator[socket.socket]:
    conn: socket.socket
    if isinstance(transport, TcpTransport):
        conn = socket.create_connection((transport.host, transport.port), timeout=RPC_TIMEOUT)
    else:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(RPC_TIMEOUT)
        try:
            conn.connect(str(transport.path))
        except OSError:
            conn.close()
            raise
    with conn:
        yield conn
