"""README's "first ten minutes" works as written: its commands, run by bash with the real curl
against the service on the sandbox, in order, with only the verification code and the
attachment id filled in (the reader copies them from the answer before)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.support.service import RunningService

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## The first ten minutes"
LOCAL = "http://127.0.0.1:8080"


def walkthrough() -> list[str]:
    """The section's shell commands, one string each (a quoted argument may span lines)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    lines = [line[4:] for line in section.splitlines() if line.startswith("    ")]
    commands: list[str] = []
    pending = ""
    for line in lines:
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = f"{pending}\n{line}" if pending else line
        try:
            shlex.split(pending)
        except ValueError:  # a quote still open: the command goes on
            continue
        commands.append(pending)
        pending = ""
    assert not pending, f"unterminated command in README: {pending}"
    return commands


def test_the_first_ten_minutes_work_as_written(service: RunningService, tmp_path: Path) -> None:
    curl = shutil.which("curl")
    assert curl, "the README walk-through needs curl"
    commands = walkthrough()
    assert len(commands) >= 15
    code = attachment = ""
    outputs: list[str] = []
    for command in commands:
        assert "CODE" not in command or code, "CODE is used before it was read"
        assert "ID" not in command.split("/")[-1] or attachment, "ID is used before it was read"
        filled = (
            command.replace(LOCAL, service.url)
            .replace("/verify/CODE", f"/verify/{code}")
            .replace("/attachments/ID", f"/attachments/{attachment}")
            .replace("curl ", "curl -sS --fail-with-body ")
        )
        done = subprocess.run(
            ["bash", "-c", filled], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout)
        if "/verification-code/" in command:
            code = json.loads(done.stdout)["code"]
        if command.endswith("/v1/attachments"):
            attachment = json.loads(done.stdout)[0]

    answers = dict(zip(commands, outputs, strict=True))  # the last answer of each command
    account = "+4915100000001"
    assert json.loads(answers[f"curl {LOCAL}/v1/accounts"]) == [account]
    assert texts(answers[f"curl {LOCAL}/v1/sandbox/received/+4915100000002"]) == ["Hello"]
    received = [
        json.loads(out)
        for cmd, out in zip(commands, outputs, strict=True)
        if cmd.endswith("/receive/" + account)
    ]
    assert texts(json.dumps(received[0])) == ["Hi back"]
    assert [
        m["envelope"]["dataMessage"]["attachments"][0]["id"]
        for m in received[1]
        if "dataMessage" in m["envelope"]
    ] == [attachment]
    assert (tmp_path / "received.txt").read_text() == "a note from the sandbox\n"
    assert service.client.get("/v1/attachments").json() == []
    groups = service.client.get(f"/v1/groups/{account}").json()
    assert [group["name"] for group in groups] == ["Team"]


def texts(answer: str) -> list[str]:
    """The texts of the messages (not receipts) among received envelopes."""
    return [
        item["envelope"]["dataMessage"]["message"]
        for item in json.loads(answer)
        if "dataMessage" in item["envelope"]
    ]
