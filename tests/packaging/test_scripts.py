"""`scripts/serve` as the README runs it: once .venv holds signal-rest, a start installs nothing
and needs no package index."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.commands import clean_env, serving
from tests.support.realcli import free_port

ROOT = Path(__file__).resolve().parents[2]
STAMP = ROOT / ".venv" / ".signal-rest-install"
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers there

# No index, no links, no proxy that works: any pip install fails at once.
OFFLINE = {
    "PIP_CONFIG_FILE": os.devnull,
    "PIP_NO_INDEX": "1",
    "PIP_INDEX_URL": f"{NOWHERE}/simple",
    "PIP_EXTRA_INDEX_URL": "",
    "PIP_FIND_LINKS": "",
    "HTTP_PROXY": NOWHERE,
    "HTTPS_PROXY": NOWHERE,
    "http_proxy": NOWHERE,
    "https_proxy": NOWHERE,
}


def test_install_again_does_nothing_and_needs_no_index() -> None:
    # What scripts/test ran before pytest: installs only if .venv is not up to date.
    subprocess.run([ROOT / "scripts" / "install", "--dev"], check=True, timeout=600)
    stamped = STAMP.stat().st_mtime_ns
    for args in ([], ["--dev"]):
        again = subprocess.run(
            [ROOT / "scripts" / "install", *args],
            env=clean_env(**OFFLINE),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert STAMP.stat().st_mtime_ns == stamped


def test_serve_starts_offline_once_installed(tmp_path: Path) -> None:
    subprocess.run([ROOT / "scripts" / "install"], check=True, timeout=600)
    stamped = STAMP.stat().st_mtime_ns
    port = free_port()
    env = clean_env(**OFFLINE, SIGNAL_REST_DATA_DIR=str(tmp_path / "data"))
    argv = [str(ROOT / "scripts" / "serve"), "--port", str(port), "--log-level", "warn"]
    with serving(argv, port, cwd=tmp_path, env=env) as served:
        assert served.client.get("/v1/about").json()["backend"] == "sandbox"
        assert served.client.get("/v1/health").status_code == 204
    assert "scripts/install" not in served.stderr
    assert STAMP.stat().st_mtime_ns == stamped
    assert (tmp_path / "data" / "inbox.sqlite3").exists()
