"""`signal-rest doctor`, run as a user runs it: one line per check, exit status 1 on a problem."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.flows import ALICE, BOB, register
from tests.support.realcli import _java_major, java_home, signal_cli_path
from tests.support.service import start_service
from tests.support.standalone import SandboxProcess

SIGNAL_REST = [sys.executable, "-m", "signal_rest"]
SANDBOX_NEEDS_NEITHER = [
    "OK       java: not needed: the sandbox backend runs no signal-cli",
    "OK       signal-cli: not needed: the sandbox answers in its place",
]
NO_ACCOUNTS = (
    "NEXT     accounts: none yet: register a number (POST /v1/register/{number}, then "
    "POST /v1/register/{number}/verify/{code}) or link this service as a device of a phone "
    "(GET /v1/qrcodelink)"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def doctor(*args: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    result = subprocess.run(
        [*SIGNAL_REST, "doctor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.stderr == ""
    return result.returncode, result.stdout.splitlines()


def test_doctor_passes_a_sandbox_with_accounts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = start_service(data)
    try:
        register(service.client, ALICE)
        register(service.client, BOB)
    finally:
        service.stop()
    port = _free_port()
    assert doctor("--sandbox", "--data-dir", str(data), "--port", str(port)) == (
        0,
        [
            *SANDBOX_NEEDS_NEITHER,
            f"OK       data dir: {data} is writable",
            f"OK       port: 127.0.0.1:{port} is free",
            f"OK       accounts: 2: {ALICE}, {BOB}",
        ],
    )


def test_doctor_passes_a_fresh_sandbox_and_names_the_next_step(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    port = _free_port()
    assert doctor("--sandbox", "--data-dir", str(data), "--port", str(port)) == (
        0,
        [
            *SANDBOX_NEEDS_NEITHER,
            f"OK       data dir: {data} will be created (in {tmp_path}, writable)",
            f"OK       port: 127.0.0.1:{port} is free",
            NO_ACCOUNTS,
        ],
    )


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        ("under-a-file", "{parent} is a file, not a directory"),
        ("in-proc", "{data} is not writable (No such file or directory)"),
    ],
    ids=["under-a-file", "in-proc"],
)
def test_doctor_reports_a_data_dir_it_cannot_write(
    tmp_path: Path, where: str, problem: str
) -> None:
    # Tests run as root here, for whom permission bits are no obstacle: a path under a regular
    # file, and one in /proc, are unwritable for anyone.
    if where == "under-a-file":
        parent = tmp_path / "taken"
        parent.write_text("not a directory")
        data = parent / "data"
    else:
        parent, data = Path("/proc"), Path("/proc") / f"signal-rest-{os.getpid()}"
    port = _free_port()
    assert doctor("--sandbox", "--data-dir", str(data), "--port", str(port)) == (
        1,
        [
            *SANDBOX_NEEDS_NEITHER,
            f"PROBLEM  data dir: {problem.format(parent=parent, data=data)}; choose another "
            "with --data-dir (SIGNAL_REST_DATA_DIR)",
            f"OK       port: 127.0.0.1:{port} is free",
            NO_ACCOUNTS,
        ],
    )


def test_doctor_reports_a_port_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = doctor("--sandbox", "--data-dir", str(tmp_path), "--port", str(port))
    assert result == (
        1,
        [
            *SANDBOX_NEEDS_NEITHER,
            f"OK       data dir: {tmp_path} is writable",
            f"PROBLEM  port: 127.0.0.1:{port} is taken (another signal-rest?): stop what listens "
            "there or choose another port with --port (PORT)",
            NO_ACCOUNTS,
        ],
    )


def test_doctor_asks_a_daemon_at_a_url_for_its_version_and_accounts(tmp_path: Path) -> None:
    daemon = SandboxProcess(tmp_path)
    try:
        daemon.call("register", {"account": ALICE})
        code = daemon.call("sandbox.getVerificationCode", {"number": ALICE})["code"]
        daemon.call("verify", {"account": ALICE, "verificationCode": code})
        data, port, url = tmp_path / "data", _free_port(), f"unix://{daemon.socket}"
        assert doctor("--signal-cli-url", url, "--data-dir", str(data), "--port", str(port)) == (
            0,
            [
                f"OK       java: not checked: signal-cli runs elsewhere, at {url}",
                f"OK       signal-cli: signal-cli 0.13.19 answers at {url}",
                f"OK       data dir: {data} will be created (in {tmp_path}, writable)",
                f"OK       port: 127.0.0.1:{port} is free",
                f"OK       accounts: 1: {ALICE}",
            ],
        )
    finally:
        daemon.stop()


def test_doctor_reports_a_daemon_that_is_not_there(tmp_path: Path) -> None:
    url, port = f"unix://{tmp_path}/no.sock", _free_port()
    gone = (
        f"nothing answers at {url} (No such file or directory): start the daemon (signal-cli "
        "daemon --tcp/--socket) or fix --signal-cli-url (SIGNAL_REST_SIGNAL_CLI_URL)"
    )
    assert doctor("--signal-cli-url", url, "--data-dir", str(tmp_path), "--port", str(port)) == (
        1,
        [
            f"OK       java: not checked: signal-cli runs elsewhere, at {url}",
            f"PROBLEM  signal-cli: {gone}",
            f"OK       data dir: {tmp_path} is writable",
            f"OK       port: 127.0.0.1:{port} is free",
            f"PROBLEM  accounts: {gone}",
        ],
    )


def test_doctor_reports_no_signal_cli(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    port = _free_port()
    assert doctor("--data-dir", str(tmp_path), "--port", str(port), env=env) == (
        1,
        [
            "OK       java: not checked: no signal-cli to run it",
            "PROBLEM  signal-cli: `signal-cli` on PATH not found: install signal-cli and put it "
            "on PATH, give its launcher with --signal-cli PATH (SIGNAL_REST_SIGNAL_CLI), or try "
            "--sandbox",
            f"OK       data dir: {tmp_path} is writable",
            f"OK       port: 127.0.0.1:{port} is free",
            NO_ACCOUNTS,
        ],
    )


@pytest.mark.realcli
def test_doctor_finds_the_real_signal_cli_and_its_java(tmp_path: Path) -> None:
    home = java_home()
    env = {**os.environ, "JAVA_HOME": str(home)}
    data, port = tmp_path / "data", _free_port()
    launcher = signal_cli_path()
    args = ("--signal-cli", str(launcher), "--data-dir", str(data), "--port", str(port))
    assert doctor(*args, env=env) == (
        0,
        [
            f"OK       java: Java {_java_major(home / 'bin' / 'java')} at {home}/bin/java",
            f"OK       signal-cli: signal-cli 0.13.19 at {launcher}",
            f"OK       data dir: {data} will be created (in {tmp_path}, writable)",
            f"OK       port: 127.0.0.1:{port} is free",
            NO_ACCOUNTS,
        ],
    )
