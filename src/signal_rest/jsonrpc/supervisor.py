"""Runs the one signal-cli daemon this service talks to, and restarts it when it dies.

    options = DaemonOptions(signal_cli=find_signal_cli(None), config_dir=Path("/data/signal-cli"),
                            socket_path=Path("/run/signal-rest/daemon.sock"))
    supervisor = DaemonSupervisor(options)
    await supervisor.start()             # spawns the child and a watcher task; returns at once
    await supervisor.wait_ready(60)      # True once the socket accepts connections
    ...
    await supervisor.stop()              # SIGTERM, then SIGKILL after stop_timeout; no restart

Before the first start it looks for a Java 21+ for signal-cli's launcher script (see
`signal_rest.java`). Without one, or when the daemon dies of a too old Java, it does not restart
in a loop: `problem` says why (health answers it), and the Java is looked for again every
`java_recheck` seconds. A pid file next to the socket names the daemon, so the next start
stops one an earlier run left behind; on Linux the daemon also gets SIGTERM when this process
dies (PR_SET_PDEATHSIG), even by SIGKILL.

The supervisor only owns the process. The `RpcClient` that talks to it over
`UnixTransport(options.socket_path)` reconnects by itself after a restart, so the two never need
to know about each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from signal_rest.errors import DaemonUnavailable, StartupRefused
from signal_rest.java import find_java, java_failure
from signal_rest.jsonrpc import pidfiles

__all__ = ["DaemonOptions", "DaemonSupervisor", "find_signal_cli", "is_script"]

log = logging.getLogger(__name__)

TRUST_MODES = ("on-first-use", "always", "never")
# Begins the line written into the log before each start of the daemon.
START_MARK = "---"

# Runs the daemon's command line in place of itself (same pid) once it has asked Linux to send
# it SIGTERM when the thread that started it ends: the service, even when killed by SIGKILL. A
# program of its own rather than a preexec_fn, which is unsafe in a process with threads and
# not run by every event loop. If the service died before prctl, it exits instead; if prctl is
# out of reach, the daemon starts all the same (the pid file still finds it after a crash).
_PDEATHSIG = """\
import os, sys
try:
    import ctypes, signal
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(1, signal.SIGTERM, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
except (ImportError, AttributeError, OSError) as exc:
    print(f"signal-rest: no parent-death signal for signal-cli: {exc}", file=sys.stderr)
if os.getppid() != int(sys.argv[1]):
    sys.exit("signal-rest ended before signal-cli started")
os.execv(sys.argv[2], sys.argv[2:])
"""


@dataclass
class DaemonOptions:
    """How to start `signal-cli daemon`; `argv()` is the exact command line."""

    signal_cli: Path
    config_dir: Path
    socket_path: Path
    trust_new_identities: str | None = None
    ignore_attachments: bool = False
    ignore_stories: bool = False
    # --ignore-avatars and --ignore-stickers exist only from signal-cli 0.14.0; 0.13.x exits with
    # a usage error (code 1) when given them.
    ignore_avatars: bool = False
    ignore_stickers: bool = False
    env: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.trust_new_identities not in (None, *TRUST_MODES):
            raise ValueError(
                f"trust_new_identities must be one of {', '.join(TRUST_MODES)}, "
                f"not {self.trust_new_identities!r}"
            )

    @property
    def log_path(self) -> Path:
        """Where the daemon's stdout and stderr go: next to, not inside, its data directory."""
        return self.config_dir.parent / "signal-cli.log"

    @property
    def pid_path(self) -> Path:
        """Which daemon serves the socket (see pidfiles): next to it."""
        return self.socket_path.with_suffix(".pid")

    def argv(self) -> list[str]:
        argv = [str(self.signal_cli), "--config", str(self.config_dir)]
        if self.trust_new_identities is not None:
            argv += ["--trust-new-identities", self.trust_new_identities]
        # Multi-account (no -a). Manual receive mode: messages stay queued on the Signal server
        # until we subscribe, instead of being acknowledged and lost while no client listens.
        # --no-receive-stdout keeps message contents out of the log file.
        argv += [
            "daemon",
            "--socket",
            str(self.socket_path),
            "--receive-mode",
            "manual",
            "--no-receive-stdout",
        ]
        flags = {
            "--ignore-attachments": self.ignore_attachments,
            "--ignore-stories": self.ignore_stories,
            "--ignore-avatars": self.ignore_avatars,
            "--ignore-stickers": self.ignore_stickers,
        }
        argv += [flag for flag, on in flags.items() if on]
        return argv


class DaemonSupervisor:
    """Keeps exactly one signal-cli daemon process alive until `stop()`.

    An unexpected exit is logged with its code and answered by a restart after a back-off that
    doubles from `min_backoff` up to `max_backoff`, and falls back to `min_backoff` once a run
    has lasted `stable_after` seconds, so a crash loop does not spin but a rare crash recovers
    quickly.
    """

    def __init__(
        self,
        options: DaemonOptions,
        *,
        min_backoff: float = 0.5,
        max_backoff: float = 30.0,
        stop_timeout: float = 10.0,
        stable_after: float = 60.0,
        java_recheck: float = 60.0,
    ) -> None:
        self.options = options
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stop_timeout = stop_timeout
        self.stable_after = stable_after
        self.java_recheck = java_recheck
        self._env = options.env
        self._problem: str | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._started_at = 0.0
        self._watcher: asyncio.Task[None] | None = None
        self._restarts = 0
        self._stopping = False
        self._wake = asyncio.Event()
        # Held while spawning and while stopping, so stop() never misses a child that the
        # watcher was just starting.
        self._spawn_lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def restarts(self) -> int:
        """How many times the daemon has been started again after an unexpected exit."""
        return self._restarts

    @property
    def problem(self) -> str | None:
        """Why the daemon does not run and will not until the user acts (no Java 21+); None
        while it runs or when it is only between restarts."""
        return None if self.running else self._problem

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    async def start(self) -> None:
        """Start the daemon and its watcher. Raises DaemonUnavailable if it cannot be spawned,
        StartupRefused if its socket is served by a process that is not ours to stop. Without a
        Java 21+ it starts only the watcher, which looks for one again now and then."""
        if self._watcher is not None:
            raise RuntimeError("DaemonSupervisor.start() was already called")
        await self._end_leftover()
        if await _accepts_connections(self.options.socket_path):
            # Removing the socket of a live daemon would leave it running unreachable.
            raise StartupRefused(_conflict(self.options.socket_path))
        self.options.config_dir.mkdir(parents=True, exist_ok=True)
        if await self._check_java():
            try:
                self._process = await self._spawn()
            except OSError as exc:
                raise DaemonUnavailable(
                    f"cannot start signal-cli ({self.options.signal_cli}): {exc}"
                ) from exc
        self._watcher = asyncio.create_task(self._watch(), name="signal-cli-supervisor")

    async def _end_leftover(self) -> None:
        """Stop the daemon an earlier run of this data dir left running (a service killed where
        the parent-death signal is not in effect), as its pid file names it."""
        path = self.options.pid_path
        left = pidfiles.read(path)
        if left is None:
            path.unlink(missing_ok=True)
            return
        if left.service is not None and left.service.pid != os.getpid() and left.service.alive():
            raise StartupRefused(
                f"the signal-cli daemon of this data dir (pid {left.daemon.pid}) belongs to "
                f"signal-rest pid {left.service.pid}, which still runs: stop that service "
                "first, or give this one another --data-dir"
            )
        if left.daemon.alive():
            try:
                how = await pidfiles.end(left.daemon, self.stop_timeout)
            except TimeoutError as exc:
                raise StartupRefused(
                    f"the signal-cli daemon (pid {left.daemon.pid}) an earlier run of this data "
                    "dir left running does not end, even on SIGKILL: look at that process"
                ) from exc
            log.warning(
                "stopped the signal-cli daemon (pid %d) an earlier run of this data dir left "
                "running (%s); starting a new one",
                left.daemon.pid,
                how,
            )
        path.unlink(missing_ok=True)

    async def _check_java(self) -> bool:
        """Choose the Java for signal-cli's launcher script; False (and `problem` set and
        logged once) when there is none it can run on."""
        if not is_script(self.options.signal_cli):
            return True  # a native build needs no Java
        base = self.options.env if self.options.env is not None else os.environ
        java = await asyncio.to_thread(find_java, base)
        problem = java.problem
        if problem is not None:
            self._block(problem)
            return False
        log.info("signal-cli runs on Java %s at %s", java.version, java.path)
        self._env = java.environ(base)
        return True

    def _block(self, problem: str) -> None:
        if problem != self._problem:
            log.error("%s (looking again every %g s)", problem, self.java_recheck)
        self._problem = problem

    async def wait_ready(self, timeout: float) -> bool:
        """Wait until the daemon's socket accepts connections; False on timeout or after stop()."""
        deadline = time.monotonic() + timeout
        while not self._stopping:
            if self.running and await _accepts_connections(self.options.socket_path):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.1)
        return False

    async def stop(self) -> None:
        """Terminate the daemon (SIGTERM, then SIGKILL after stop_timeout); it is not restarted."""
        self._stopping = True
        self._wake.set()
        async with self._spawn_lock:
            process = self._process
            if process is not None and process.returncode is None:
                await self._terminate(process)
            if process is not None:
                pidfiles.remove(self.options.pid_path, process.pid)
        if self._watcher is not None:
            await self._watcher

    async def _spawn(self) -> asyncio.subprocess.Process:
        launcher = self.options.signal_cli
        if not (launcher.is_file() and os.access(launcher, os.X_OK)):
            # Said here: behind the parent-death wrapper, exec's error would only be an exit.
            raise FileNotFoundError(errno.ENOENT, "no executable file", str(launcher))
        _remove_stale_socket(self.options.socket_path)
        argv = self.options.argv()
        log_path = self.options.log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        # The child writes straight into the file: a PIPE that nobody drains would fill up and
        # block signal-cli mid-write.
        with log_path.open("ab") as log_file:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            started = f"{START_MARK} {stamp} signal-rest starting: {' '.join(argv)}\n"
            log_file.write(started.encode())
            log_file.flush()
            process = await asyncio.create_subprocess_exec(
                *_dies_with_us(argv),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=self._env,
                # Its own session: a Ctrl-C on our terminal must not kill the daemon behind the
                # supervisor's back; stop() ends it in order.
                start_new_session=True,
            )
        self._started_at = time.monotonic()
        pidfiles.write(self.options.pid_path, process.pid)
        log.info("started signal-cli daemon (pid %d), log in %s", process.pid, log_path)
        return process

    async def _watch(self) -> None:
        backoff = self.min_backoff
        while True:
            process = self._process
            if process is None:  # no Java to run it on
                if not await self._restart_after(self.java_recheck, check_java=True):
                    return
                continue
            code = await process.wait()
            if self._stopping:
                log.info("signal-cli daemon stopped (%s)", _describe_exit(code))
                return
            pidfiles.remove(self.options.pid_path, process.pid)
            problem = java_failure(_output_of_last_start(self.options.log_path))
            if problem is not None:
                self._process = None
                self._block(problem)
                continue
            self._problem = None
            ran = time.monotonic() - self._started_at
            if ran >= self.stable_after:
                backoff = self.min_backoff
            log.warning(
                "signal-cli daemon exited unexpectedly (%s) after %.1f s; restarting in %.2f s. "
                "Last output: %s",
                _describe_exit(code),
                ran,
                backoff,
                _last_line(self.options.log_path) or "(none)",
            )
            if not await self._restart_after(backoff):
                return
            backoff = min(backoff * 2, self.max_backoff)

    async def _restart_after(self, delay: float, *, check_java: bool = False) -> bool:
        """Sleep (cut short by stop()), then spawn again until one works (with `check_java`,
        once there is a Java to run it on). False once stopping."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            async with self._spawn_lock:
                if self._stopping:
                    return False
                if check_java and not await self._check_java():
                    continue
                try:
                    self._process = await self._spawn()
                except OSError as exc:
                    log.error("cannot restart signal-cli: %s; retrying in %.2f s", exc, delay)
                    delay = min(delay * 2, self.max_backoff)
                    continue
                if not check_java:  # a first start on a Java found at last is no restart
                    self._restarts += 1
                return True

    async def _terminate(self, process: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), self.stop_timeout)
        except TimeoutError:
            log.warning(
                "signal-cli daemon (pid %d) ignored SIGTERM for %g s; killing it",
                process.pid,
                self.stop_timeout,
            )
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def _accepts_connections(path: Path) -> bool:
    try:
        _, writer = await asyncio.open_unix_connection(str(path))
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _remove_stale_socket(path: Path) -> None:
    """A daemon killed hard leaves its socket file behind, and signal-cli will not bind over it."""
    if path.is_socket():
        path.unlink(missing_ok=True)
    elif path.exists():
        raise FileExistsError(f"{path} exists and is not a socket; not removing it")
    path.parent.mkdir(parents=True, exist_ok=True)


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _output_of_last_start(path: Path, limit: int = 4096) -> str:
    """What the daemon wrote since its last start (at most its last `limit` bytes)."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - limit))
            tail = f.read().decode(errors="replace")
    except OSError:
        return ""
    _, mark, after = ("\n" + tail).rpartition(f"\n{START_MARK} ")
    return after.partition("\n")[2] if mark else tail


def _last_line(path: Path) -> str:
    """The last non-empty line the daemon wrote: usually the reason it died (a usage error, a
    Java version mismatch)."""
    lines = [line.strip() for line in _output_of_last_start(path).splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _dies_with_us(argv: list[str]) -> list[str]:
    """`argv` started through the parent-death wrapper, where Linux has one."""
    if not sys.platform.startswith("linux"):
        return argv
    return [sys.executable, "-I", "-S", "-c", _PDEATHSIG, str(os.getpid()), *argv]


def _conflict(socket_path: Path) -> str:
    holder = pidfiles.socket_holder(socket_path)
    who = (
        f"process {holder} ({pidfiles.command(holder) or 'command line unknown'})"
        if holder is not None
        else "another process (its PID is not visible to this user)"
    )
    return (
        f"signal-cli's socket {socket_path} is served by {who}, which is not a daemon this "
        f"service started: stop it, or give this service another --data-dir"
    )


def find_signal_cli(explicit: str | None) -> Path | None:
    """The signal-cli launcher: `explicit` (a path or a command name) if given, else `signal-cli`
    on PATH; None when it cannot be found or is not executable."""
    found = shutil.which(explicit if explicit else "signal-cli")
    return Path(found) if found else None


def is_script(path: Path) -> bool:
    """Whether `path` is a script (signal-cli's JVM launcher), not a native binary."""
    try:
        with path.open("rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False
