"""The benchmark's short mode runs end to end and its correctness checks hold.

Only that: its figures are timings of a shared machine, which a test must not assert.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from signal_rest.bench.webhooks import webhooks_in_build

# The figures of inbox commits, the plain websocket and memory (in any place of the table).
INBOX_AND_MEMORY = [
    "inbox commits/s (1,000 sent as fast as the sandbox takes them, no consumer)",
    "latency at 1,000 msg/s: plain websocket, no consumer name (alone)",
    "idle resident memory after startup, registration and 4 typical requests",
    "memory peak rise while sending one 8 MiB attachment (POST /v2/send)",
]


def expected_checks() -> list[dict[str, object]]:
    checks = [
        "generator: 300 sends by 4 outside users, all answered",
        "ws-acks: every one of 300 messages exactly once, in order per sender",
        "ws-pongs: every one of 300 messages exactly once, in order per sender",
        "poller: every one of 300 messages exactly once, in order per sender",
    ]
    if webhooks_in_build():
        checks += [
            "webhook backlog: 400 sends answered and committed to the inbox first",
            "webhook: every one of 400 messages exactly once, in order, as `receive` "
            "notifications of the account",
            "webhook: every signature valid (Standard Webhooks, v1 HMAC-SHA256), ids distinct",
        ]
    checks += [
        "inbox: 1,000 sends answered, twice (service, then the raw client)",
        "inbox: every one of 1,000 messages committed exactly once",
        "raw client: every one of 1,000 messages notified",
        "plain websocket: every one of 300 messages exactly once, in order per sender",
        "idle: about, accounts, send (201) and receive (the waiting message) answered",
        "attachment: 201 with one timestamp, and the recipient got it byte-identical",
    ]
    return [{"check": check, "ok": True, "detail": ""} for check in checks]


def test_short_benchmark_runs_and_every_consumer_gets_every_message(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    # In a session of its own: should it hang, the sandbox and services it started go with it.
    bench = subprocess.Popen(
        [sys.executable, "-m", "signal_rest.bench", "--short", "--json", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = bench.communicate(timeout=150)
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
            bench.communicate()
    assert bench.returncode == 0, stdout + stderr
    results = json.loads(out.read_text())
    assert results["checks"] == expected_checks()
    webhook_result = ["OK", "SHORT"] if webhooks_in_build() else ["SKIPPED"]
    assert [(f["figure"], f["result"] in ("OK", "SHORT")) for f in results["figures"][:5]] == [
        ("load: sends per second the generator held (one pipelined connection)", True),
        ("received → all three consumers, msg/s (first send to last arrival)", True),
        ("latency at 1,000 msg/s: websocket consumer=ws-acks (ack=true)", True),
        ("latency at 1,000 msg/s: websocket consumer=ws-pongs (pongs)", True),
        ("latency at 1,000 msg/s: poll consumer=poller (ack=true)", True),
    ]
    assert [f["result"] in webhook_result for f in results["figures"][5:6]] == [True]
    measured = {f["figure"]: f["result"] in ("OK", "SHORT") for f in results["figures"]}
    assert {label: measured.get(label) for label in INBOX_AND_MEMORY} == dict.fromkeys(
        INBOX_AND_MEMORY, True
    )
    # The table a person reads says the same.
    assert "correctness:" in stdout
    assert "FAIL" not in stdout
    assert results["machine"] in stdout
