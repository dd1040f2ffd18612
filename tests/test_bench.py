"""The benchmark's short mode runs end to end and its correctness checks hold.

Only that: its figures are timings of a shared machine, which a test must not assert.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from signal_rest.bench.webhooks import webhooks_in_build

# The figures of inbox commits, the plain websocket and memory (in any place of the table).
INBOX_AND_MEMORY = [
    "inbox commits/s (1,000 sent as fast as the sandbox takes them, no consumer)",
    "latency at 1,000 msg/s: plain websocket, no consumer name (alone)",
    "idle resident memory after startup, registration and 4 typical requests",
    "memory peak rise while sending one 8 MiB attachment (POST /v2/send)",
]
THROUGHPUT_CHECKS = [
    "throughput: every /v2/send answered 201 with a timestamp",
    "throughput: the sandbox recorded each answered send once",
    "throughput: every send through the forwarding route answered 201 with a timestamp",
    "throughput: every hello-world request answered 200",
]
THROUGHPUT_FIGURES = [
    "/v2/send per second, 64 keep-alive connections",
    "/v2/send per second, 64 keep-alive connections ÷ a hello-world route, same server settings",
]


def expected_checks() -> list[dict[str, object]]:
    checks = [
        "generator: 300 sends by 4 outside users, all answered",
        "ws-acks: every one of 300 messages exactly once, in order per sender",
        "ws-pongs: every one of 300 messages exactly once, in order per sender",
        "poller: every one of 300 messages exactly once, in order per sender",
        "latency reference: the raw JSON-RPC client got every one of 300 messages",
    ]
    if webhooks_in_build():
        checks += [
            "webhook backlog: 400 sends answered and committed to the inbox first",
            "webhook: every one of 400 messages exactly once, in order, as `receive` "
            "notifications of the account",
            "webhook: every signature valid (Standard Webhooks, v1 HMAC-SHA256), ids distinct",
        ]
    checks += [
        "send latency: every one of 200 /v2/send answered 201 with a timestamp",
        "send latency: every one of 200 raw `send` calls answered with a result",
        "send latency: every one of 200 hello-world requests, bare and FastAPI, answered 200",
        *THROUGHPUT_CHECKS,
        "inbox: 1,000 sends answered, twice (service, then the raw client)",
        "inbox: every one of 1,000 messages committed exactly once",
        "raw client: every one of 1,000 messages notified",
        "plain websocket: every one of 300 messages exactly once, in order per sender",
        "plain reference: the raw JSON-RPC client got every one of 300 messages",
        "idle: about, accounts, send (201) and receive (the waiting message) answered",
        "attachment: 201 with one timestamp, and the recipient got it byte-identical",
    ]
    return [{"check": check, "ok": True, "detail": ""} for check in checks]


def run_short(tmp_path: Path, *args: str) -> dict[str, Any]:
    """`python -m signal_rest.bench --short ARGS`: its JSON results, once the printed table
    says the same."""
    out = tmp_path / "bench.json"
    # In a session of its own: should it hang, the sandbox and services it started go with it.
    bench = subprocess.Popen(
        [sys.executable, "-m", "signal_rest.bench", "--short", "--json", str(out), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = bench.communicate(timeout=180)
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
            bench.communicate()
    assert bench.returncode == 0, stdout + stderr
    results: dict[str, Any] = json.loads(out.read_text())
    # The table a person reads says the same.
    assert "correctness:" in stdout
    assert "FAIL" not in stdout
    assert results["machine"] in stdout
    return results


def test_short_benchmark_runs_and_every_consumer_gets_every_message(tmp_path: Path) -> None:
    results = run_short(tmp_path)
    assert results["checks"] == expected_checks()
    webhook_result = ["OK", "SHORT"] if webhooks_in_build() else ["SKIPPED"]
    figures = results["figures"]
    assert [(f["figure"], f["result"] in ("OK", "SHORT")) for f in figures[:5]] == [
        ("load: sends per second the generator held (one pipelined connection)", True),
        ("received → all three consumers, msg/s (first send to last arrival)", True),
        ("latency at 1,000 msg/s: websocket consumer=ws-acks (ack=true)", True),
        ("latency at 1,000 msg/s: websocket consumer=ws-pongs (pongs)", True),
        ("latency at 1,000 msg/s: poll consumer=poller (ack=true)", True),
    ]
    # Each receive latency is shown beside what it cannot go below on this machine.
    floor = r"daemon → raw JSON-RPC client: p50 [\d.]+ · p99 [\d.]+ ms; one synced commit here: "
    floor += r"p50 [\d.]+ · p99 [\d.]+ ms"
    assert [bool(re.match(floor, f["reference"])) for f in figures[2:5]] == [True] * 3
    plain = next(f for f in figures if f["figure"] == INBOX_AND_MEMORY[1])
    assert re.match(floor + "; load held: ", plain["reference"])
    assert [f["result"] in webhook_result for f in figures[5:6]] == [True]
    assert [(f["figure"], f["result"] in ("OK", "SHORT")) for f in figures[6:9]] == [
        ("send latency: POST /v2/send ÷ the same raw JSON-RPC `send` (one connection each)", True),
        *((figure, True) for figure in THROUGHPUT_FIGURES),
    ]
    measured = {f["figure"]: f["result"] in ("OK", "SHORT") for f in figures}
    assert {label: measured.get(label) for label in INBOX_AND_MEMORY} == dict.fromkeys(
        INBOX_AND_MEMORY, True
    )


def test_short_throughput_runs_with_our_own_load_generator(tmp_path: Path) -> None:
    """The load generator for machines without wrk (the smoke test above uses wrk if it is
    on PATH)."""
    results = run_short(tmp_path, "--only", "throughput", "--generator", "own")
    assert results["checks"] == [
        {"check": check, "ok": True, "detail": ""} for check in THROUGHPUT_CHECKS
    ]
    figures = results["figures"]
    assert [(f["figure"], f["result"] in ("OK", "SHORT")) for f in figures] == [
        (figure, True) for figure in THROUGHPUT_FIGURES
    ]
    assert "own load generator" in figures[0]["measured"]
    assert "a route that only forwards the send (forward.py): " in figures[1]["reference"]
