"""The supervised daemon's pid file, and what /proc says about the processes it names (Linux).

    pidfiles.write(path, daemon_pid)      # the daemon and this service, each with its start time
    left = pidfiles.read(path)            # None when there is none or it is unreadable
    if left and left.daemon.alive():
        await pidfiles.end(left.daemon.pid, timeout=10)

A pid alone could name an unrelated process once the daemon is gone and its pid reused, so each
pid is kept with the process's start time (field 22 of /proc/PID/stat, in clock ticks since
boot): the pair names one process for as long as the machine runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Process",
    "Record",
    "command",
    "end",
    "read",
    "remove",
    "socket_holder",
    "start_time",
    "write",
]


@dataclass(frozen=True)
class Process:
    pid: int
    started: int

    @classmethod
    def of(cls, pid: int) -> Process | None:
        started = start_time(pid)
        return None if started is None else cls(pid, started)

    def alive(self) -> bool:
        """True while this very process runs (not a later one under the same pid)."""
        return start_time(self.pid) == self.started


@dataclass(frozen=True)
class Record:
    """What a pid file holds: the daemon, and the service that started it."""

    daemon: Process
    service: Process | None


def write(path: Path, daemon_pid: int) -> None:
    daemon = Process.of(daemon_pid)
    service = Process.of(os.getpid())
    if daemon is None:
        return  # already gone: there is nothing to find again
    record = {"daemon": daemon.__dict__, "service": service.__dict__ if service else None}
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(record) + "\n")
    partial.replace(path)


def read(path: Path) -> Record | None:
    try:
        record = json.loads(path.read_text())
        daemon = Process(**record["daemon"])
        service = Process(**record["service"]) if record.get("service") else None
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return Record(daemon, service)


def remove(path: Path, daemon_pid: int) -> None:
    """Remove the pid file if it still names `daemon_pid` (a later run may have replaced it)."""
    record = read(path)
    if record is not None and record.daemon.pid == daemon_pid:
        path.unlink(missing_ok=True)


def start_time(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot); None when no such process runs (a zombie,
    dead but not yet reaped by its parent, does not run)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def command(pid: int) -> str:
    """The command line of `pid`, shortened for a log line; "" when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    text = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return text if len(text) <= 120 else text[:117] + "..."


def socket_holder(path: Path) -> int | None:
    """A process with the listening UNIX socket `path` open; None when none can be seen (not
    Linux, or a process of another user)."""
    inodes: set[str] = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
            parts = line.split(None, 7)
            if len(parts) == 8 and parts[7] == str(path):
                inodes.add(parts[6])
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in targets:
                        return int(entry.name)
    return None


async def end(process: Process, timeout: float) -> str:
    """SIGTERM `process`, SIGKILL it when it still runs after `timeout` s; returns which signal
    ended it."""
    for sig, bound in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)
        # Not our child: nothing to wait on but /proc.
        deadline = time.monotonic() + bound
        while process.alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not process.alive():
            return sig.name
    raise TimeoutError(f"process {process.pid} outlived SIGKILL")
