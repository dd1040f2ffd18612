from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.timeout(60)
def test_run_serves_until_sigterm(tmp_path: Path) -> None:
    sock = tmp_path / "sandbox.sock"
    code = (
        "from pathlib import Path; from signal_rest.sandbox import run; "
        f"run(Path({str(tmp_path / 'data')!r}), socket=Path({str(sock)!r}), tcp=None, "
        "receive_mode='manual')"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 20
        while not sock.exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(sock))
            client.sendall(b'{"jsonrpc":"2.0","id":1,"method":"listAccounts"}\n')
            answer = client.makefile("rb").readline()
        assert json.loads(answer) == {"jsonrpc": "2.0", "result": [], "id": 1}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert (tmp_path / "data" / "sandbox.sqlite3").exists()
        assert not sock.exists()  # no stale socket file for the next start to trip on
    finally:
        if proc.poll() is None:
            proc.kill()
