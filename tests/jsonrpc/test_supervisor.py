"""DaemonSupervisor against a fake `signal-cli` launcher (a Python script; no Java needed).

The fake prints its argv (so the log file shows what it was started with), then behaves as
FAKE_MODE says: `serve` listens on the --socket path until SIGTERM, `exit:N` exits at once with
code N, `ignore-term` serves and ignores SIGTERM. FAKE_LIFETIME makes `serve` exit with code 3
after that many seconds; FAKE_STAMPS names a file that gets one line per start.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from signal_rest.errors import DaemonUnavailable, StartupRefused
from signal_rest.jsonrpc import pidfiles
from signal_rest.jsonrpc.supervisor import DaemonOptions, DaemonSupervisor, find_signal_cli

FAKE_SIGNAL_CLI = f"""#!{sys.executable}
import json, os, signal, socket, sys, time
argv = sys.argv[1:]
print(json.dumps(argv), flush=True)
if os.environ.get("FAKE_STAMPS"):
    with open(os.environ["FAKE_STAMPS"], "a") as stamps:
        stamps.write(f"{{time.time()}}\\n")
mode = os.environ.get("FAKE_MODE", "serve")
if mode.startswith("exit:"):
    print("fatal: pretend failure", flush=True)
    sys.exit(int(mode[5:]))
if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server = socket.socket(socket.AF_UNIX)
server.bind(argv[argv.index("--socket") + 1])  # fails on a leftover socket file, as Java does
server.listen()
server.settimeout(0.05)
lifetime = float(os.environ.get("FAKE_LIFETIME", "0"))
started = time.monotonic()
while not lifetime or time.monotonic() - started < lifetime:
    try:
        server.accept()[0].close()
    except TimeoutError:
        pass
sys.exit(3)
"""

LOGGER = "signal_rest.jsonrpc.supervisor"

MakeSupervisor = Callable[..., Awaitable[DaemonSupervisor]]


@pytest.fixture
def fake_cli(short_tmp: Path) -> Path:
    path = short_tmp / "bin" / "signal-cli"
    path.parent.mkdir()
    path.write_text(FAKE_SIGNAL_CLI)
    path.chmod(0o755)
    return path


@pytest.fixture
def options(fake_cli: Path, short_tmp: Path) -> DaemonOptions:
    return DaemonOptions(
        signal_cli=fake_cli,
        config_dir=short_tmp / "data",
        socket_path=short_tmp / "run" / "daemon.sock",
    )


@pytest.fixture
async def supervise(options: DaemonOptions) -> AsyncIterator[MakeSupervisor]:
    """Start a supervisor for the fake with FAKE_* env settings; always stopped afterwards."""
    supervisors: list[DaemonSupervisor] = []

    async def factory(*, fake: dict[str, str] | None = None, **kwargs: Any) -> DaemonSupervisor:
        options.env = {**os.environ, **(fake or {})}
        supervisor = DaemonSupervisor(options, **kwargs)
        supervisors.append(supervisor)
        await supervisor.start()
        return supervisor

    yield factory
    for supervisor in supervisors:
        await supervisor.stop()


async def eventually(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def exit_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and "exited unexpectedly" in r.getMessage()
    ]


def logged_backoffs(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [
        float(re.search(r"restarting in ([\d.]+) s", m).group(1))  # type: ignore[union-attr]
        for m in exit_warnings(caplog)
    ]


def test_argv_is_the_daemon_command_line() -> None:
    options = DaemonOptions(
        signal_cli=Path("/opt/signal-cli/bin/signal-cli"),
        config_dir=Path("/data/signal-cli"),
        socket_path=Path("/run/signal-rest/daemon.sock"),
        trust_new_identities="always",
        ignore_attachments=True,
        ignore_stories=True,
        ignore_avatars=True,
        ignore_stickers=True,
    )
    assert options.argv() == [
        "/opt/signal-cli/bin/signal-cli",
        "--config",
        "/data/signal-cli",
        "--trust-new-identities",
        "always",
        "daemon",
        "--socket",
        "/run/signal-rest/daemon.sock",
        "--receive-mode",
        "manual",
        "--no-receive-stdout",
        "--ignore-attachments",
        "--ignore-stories",
        "--ignore-avatars",
        "--ignore-stickers",
    ]
    assert options.log_path == Path("/data/signal-cli.log")


def test_argv_defaults_add_no_optional_flags() -> None:
    options = DaemonOptions(
        signal_cli=Path("signal-cli"), config_dir=Path("d"), socket_path=Path("s")
    )
    assert options.argv() == [
        "signal-cli",
        "--config",
        "d",
        "daemon",
        "--socket",
        "s",
        "--receive-mode",
        "manual",
        "--no-receive-stdout",
    ]


def test_options_reject_unknown_trust_mode() -> None:
    with pytest.raises(ValueError, match="on-first-use, always, never"):
        DaemonOptions(Path("signal-cli"), Path("d"), Path("s"), trust_new_identities="sometimes")


async def test_start_runs_the_daemon_with_output_in_log_file(
    supervise: MakeSupervisor, options: DaemonOptions
) -> None:
    supervisor = await supervise()
    assert await supervisor.wait_ready(10)
    assert supervisor.running
    assert supervisor.restarts == 0
    assert options.config_dir.is_dir()
    lines = options.log_path.read_text().splitlines()
    assert lines[0].startswith("--- ")
    assert lines[0].endswith(" signal-rest starting: " + " ".join(options.argv()))
    assert json.loads(lines[1]) == options.argv()[1:]


async def test_start_replaces_a_stale_socket_file(
    supervise: MakeSupervisor, options: DaemonOptions
) -> None:
    options.socket_path.parent.mkdir(parents=True)
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(options.socket_path))  # closed without unlinking: a stale socket file
    assert options.socket_path.is_socket()
    supervisor = await supervise()
    assert await supervisor.wait_ready(10)


async def test_start_refuses_a_socket_served_by_another_process(
    supervise: MakeSupervisor, options: DaemonOptions
) -> None:
    options.socket_path.parent.mkdir(parents=True)

    def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    other = await asyncio.start_unix_server(hang_up, path=str(options.socket_path))
    try:
        with pytest.raises(StartupRefused) as refused:
            await supervise()
    finally:
        other.close()
        await other.wait_closed()
    assert not options.log_path.exists()  # nothing was spawned
    assert str(refused.value) == (
        f"signal-cli's socket {options.socket_path} is served by process {os.getpid()} "
        f"({pidfiles.command(os.getpid())}), which is not a daemon this service started: "
        "stop it, or give this service another --data-dir"
    )


async def test_start_reports_a_missing_launcher(short_tmp: Path) -> None:
    options = DaemonOptions(short_tmp / "missing", short_tmp / "data", short_tmp / "d.sock")
    supervisor = DaemonSupervisor(options)
    with pytest.raises(DaemonUnavailable, match="cannot start signal-cli"):
        await supervisor.start()
    assert not supervisor.running


async def test_restart_backs_off_exponentially_while_daemon_keeps_crashing(
    supervise: MakeSupervisor, short_tmp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    stamps = short_tmp / "stamps"
    supervisor = await supervise(
        fake={"FAKE_MODE": "exit:3", "FAKE_STAMPS": str(stamps)},
        min_backoff=0.05,
        max_backoff=0.2,
    )
    await eventually(lambda: supervisor.restarts >= 4)
    await supervisor.stop()
    assert logged_backoffs(caplog)[:5] == [0.05, 0.1, 0.2, 0.2, 0.2][: len(exit_warnings(caplog))]
    assert exit_warnings(caplog)[0].startswith(
        "signal-cli daemon exited unexpectedly (exit code 3)"
    )
    assert exit_warnings(caplog)[0].endswith("Last output: fatal: pretend failure")
    starts = [float(line) for line in stamps.read_text().split()]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(gap >= wait for gap, wait in zip(gaps, [0.05, 0.1, 0.2, 0.2], strict=False))
    restarts = supervisor.restarts
    await asyncio.sleep(0.3)
    assert (supervisor.restarts, supervisor.running) == (restarts, False)


async def test_restart_backoff_resets_after_a_stable_run(
    supervise: MakeSupervisor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    supervisor = await supervise(
        fake={"FAKE_LIFETIME": "0.3"}, min_backoff=0.05, max_backoff=1, stable_after=0.2
    )
    await eventually(lambda: supervisor.restarts >= 3)
    await supervisor.stop()
    assert logged_backoffs(caplog)[:3] == [0.05, 0.05, 0.05]


async def test_restart_after_the_daemon_is_killed(
    supervise: MakeSupervisor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    supervisor = await supervise(min_backoff=0.05)
    assert await supervisor.wait_ready(10)
    first_pid = supervisor.pid
    assert first_pid is not None
    os.kill(first_pid, 9)
    await eventually(lambda: supervisor.restarts == 1)
    assert await supervisor.wait_ready(10)
    assert supervisor.pid not in (None, first_pid)
    assert exit_warnings(caplog)[0].startswith(
        "signal-cli daemon exited unexpectedly (killed by SIGKILL)"
    )


async def test_stop_kills_a_daemon_that_ignores_sigterm(
    supervise: MakeSupervisor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    supervisor = await supervise(fake={"FAKE_MODE": "ignore-term"}, stop_timeout=0.3)
    assert await supervisor.wait_ready(10)
    pid = supervisor.pid
    assert pid is not None
    started = time.monotonic()
    await supervisor.stop()
    assert time.monotonic() - started >= 0.3
    assert not supervisor.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert f"signal-cli daemon (pid {pid}) ignored SIGTERM for 0.3 s; killing it" in messages
    assert "signal-cli daemon stopped (killed by SIGKILL)" in messages
    assert exit_warnings(caplog) == []


async def test_stop_during_backoff_prevents_the_restart(supervise: MakeSupervisor) -> None:
    supervisor = await supervise(fake={"FAKE_MODE": "exit:1"}, min_backoff=30)
    await eventually(lambda: not supervisor.running)
    assert not await supervisor.wait_ready(0.2)
    started = time.monotonic()
    await supervisor.stop()
    assert time.monotonic() - started < 5  # stop() cut the 30 s back-off short
    assert (supervisor.restarts, supervisor.running) == (0, False)


async def test_wait_ready_is_false_after_stop(supervise: MakeSupervisor) -> None:
    supervisor = await supervise()
    assert await supervisor.wait_ready(10)
    await supervisor.stop()
    assert not await supervisor.wait_ready(10)
    assert supervisor.pid is None


def test_find_signal_cli_uses_explicit_path(fake_cli: Path, short_tmp: Path) -> None:
    assert find_signal_cli(str(fake_cli)) == fake_cli
    assert find_signal_cli(str(short_tmp / "missing")) is None
    not_executable = short_tmp / "not-executable"
    not_executable.write_text("#!/bin/sh\n")
    assert find_signal_cli(str(not_executable)) is None


def test_find_signal_cli_searches_path(
    fake_cli: Path, short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(fake_cli.parent))
    assert find_signal_cli(None) == fake_cli
    monkeypatch.setenv("PATH", str(short_tmp))
    assert find_signal_cli(None) is None


async def test_pid_file_names_the_daemon_and_its_service_until_stop(
    supervise: MakeSupervisor, options: DaemonOptions
) -> None:
    supervisor = await supervise()
    assert await supervisor.wait_ready(10)
    assert supervisor.pid is not None
    assert options.pid_path == options.socket_path.parent / "daemon.pid"
    assert pidfiles.read(options.pid_path) == pidfiles.Record(
        daemon=pidfiles.Process(supervisor.pid, pidfiles.start_time(supervisor.pid) or -1),
        service=pidfiles.Process(os.getpid(), pidfiles.start_time(os.getpid()) or -1),
    )
    await supervisor.stop()
    assert not options.pid_path.exists()


async def test_a_pid_file_of_a_gone_daemon_is_replaced(
    supervise: MakeSupervisor, options: DaemonOptions, caplog: pytest.LogCaptureFixture
) -> None:
    options.pid_path.parent.mkdir(parents=True)
    # The pid of this process, but another start time: a pid reused since, not to be killed.
    reused = {"pid": os.getpid(), "started": 1}
    options.pid_path.write_text(json.dumps({"daemon": reused, "service": None}))
    supervisor = await supervise()
    assert await supervisor.wait_ready(10)
    record = pidfiles.read(options.pid_path)
    assert record is not None and record.daemon.pid == supervisor.pid
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []
