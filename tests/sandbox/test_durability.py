"""The sandbox keeps what it answered when its process is killed (it does not sync to disk,
so a crash of the machine itself is another matter: README, "Try it on the sandbox")."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.support.standalone import SandboxProcess

SENDER = "+4915100000301"  # outside Signal users
RECIPIENT = "+4915100000302"


def test_what_it_answered_survives_a_kill(tmp_path: Path) -> None:
    sandbox = SandboxProcess(tmp_path)
    try:
        for n in range(50):
            message = {"from": SENDER, "recipient": [RECIPIENT], "message": f"m{n}"}
            assert "timestamp" in sandbox.call("sandbox.send", message)
        os.kill(sandbox.process.pid, signal.SIGKILL)
        sandbox.process.wait()
    finally:
        sandbox.stop()
    sandbox.socket.unlink()  # left behind by the killed process

    again = SandboxProcess(tmp_path)
    try:
        counted = again.call("sandbox.countReceived", {"number": RECIPIENT})
        assert counted == {"number": RECIPIENT, "count": 50}
    finally:
        again.stop()
