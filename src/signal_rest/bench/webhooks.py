"""Figure: webhook deliveries per second to a local target, from a backlog in the inbox.

N messages are committed to the inbox of a service that has no webhook yet; it is stopped and
started again with `RECEIVE_WEBHOOK_URL` pointing at the target (target.py, a process of its
own) and a secret, so the webhook starts with all N pending, as after a target's outage. The
rate is counted from the first delivery to the last: the service's startup is not in it. The
reference is what the target takes alone, one request at a time on one connection (a webhook
lane sends one at a time, in order).

Every delivery is checked: each message once, in arrival order, the JSON-RPC `receive`
notification of ACCOUNT, a valid Standard Webhooks signature, distinct `webhook-id`s.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import sqlite3
import time
from typing import Any

from signal_rest.bench.generator import parse, send
from signal_rest.bench.options import Options
from signal_rest.bench.processes import ACCOUNT, BenchError, World, free_port, request
from signal_rest.bench.report import Check, Figure, Outcome
from signal_rest.bench.target import reference

__all__ = ["measure", "webhooks_in_build"]

GOAL = 2000.0
FULL, SHORT = 10_000, 400
LABEL = "webhook deliveries/s to a local target"


def webhooks_in_build() -> bool:
    """Whether this build's settings have webhooks (they are not in every build)."""
    from signal_rest.config import Settings

    return {"receive_webhook_url", "webhook_secret"} <= set(Settings.model_fields)


def _stored(service_dir: Any) -> int:
    path = service_dir / "inbox.sqlite3"
    if not path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        try:
            row = conn.execute("SELECT COUNT(*) FROM messages WHERE account = ?", (ACCOUNT,))
        except sqlite3.OperationalError:
            return 0  # not created yet
        count: int = row.fetchone()[0]
        return count


def _wait(what: str, condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _signed(key: bytes, record: list[Any]) -> bool:
    _, message_id, timestamp, signatures, body = record
    if not (message_id and timestamp and signatures):
        return False
    signed = f"{message_id}.{timestamp}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(value, expected)
        for version, _, value in (part.partition(",") for part in signatures.split(" "))
    )


def _seq(body: str) -> int | None:
    notification = json.loads(body)
    if notification.get("method") != "receive" or notification.get("jsonrpc") != "2.0":
        return None
    params = notification.get("params") or {}
    if params.get("account") != ACCOUNT:
        return None
    text = ((params.get("envelope") or {}).get("dataMessage") or {}).get("message", "")
    return parse(text)[0] if text.startswith("bench ") else None


def _checks(records: list[list[Any]], key: bytes, count: int) -> list[Check]:
    seqs = [_seq(r[4]) for r in records]
    numbered = [s for s in seqs if s is not None]
    missing = count - len(set(numbered) & set(range(count)))
    repeats = len(numbered) - len(set(numbered))
    in_order = numbered == sorted(numbered)
    valid = sum(_signed(key, r) for r in records)
    ids = {r[1] for r in records}
    delivered_ok = missing == 0 and repeats == 0 and in_order and None not in seqs
    signed_ok = valid == len(records) and len(ids) == len(records)
    return [
        Check(
            f"webhook: every one of {count:,} messages exactly once, in order, as `receive` "
            "notifications of the account",
            delivered_ok,
            ""
            if delivered_ok
            else f"{missing} missing, {repeats} repeated, in order: {in_order}, "
            f"{seqs.count(None)} not a benchmark notification",
        ),
        Check(
            "webhook: every signature valid (Standard Webhooks, v1 HMAC-SHA256), ids distinct",
            signed_ok,
            "" if signed_ok else f"{valid} of {len(records)} valid, {len(ids)} distinct ids",
        ),
    ]


def measure(world: World, options: Options) -> Outcome:
    goal = f"≥ {GOAL:,.0f}/s"
    if not webhooks_in_build():
        skipped = "SKIPPED (no webhooks in this build)"
        return Outcome([Figure(LABEL, skipped, "—", goal, ok=None)], [])
    count = SHORT if options.short else FULL
    port = free_port()
    target = world.helper("target", "signal_rest.bench.target", str(port))

    def up() -> bool:
        target.alive()
        with contextlib.suppress(OSError):
            return request(port, "GET", "/count")[0] == 200
        return False

    _wait("the webhook target", up, 30)
    sample = json.dumps({"jsonrpc": "2.0", "method": "receive", "params": {"x": "y" * 700}})
    alone = reference(port, count, sample.encode())
    request(port, "DELETE", "/records")

    filler = world.service("webhooks-fill", data="webhooks")
    world.register(filler)
    sent = send(world.socket, count=count, rate=None)
    _wait(f"{count} messages in the inbox", lambda: _stored(filler.data_dir) >= count, 120)
    filler.stop()

    secret = base64.b64encode(os.urandom(32)).decode()
    service = world.service(
        "webhooks",
        receive_webhook_url=f"http://127.0.0.1:{port}/hook",
        webhook_secret=f"whsec_{secret}",
    )
    progress = {"count": 0, "at": time.monotonic()}

    def delivered() -> bool:
        service.alive()
        now = request(port, "GET", "/count")[1]
        if now != progress["count"]:
            progress.update(count=now, at=time.monotonic())
        elif time.monotonic() - progress["at"] > 60:
            raise BenchError(f"the webhook stalled at {now} of {count}:\n{service.tail()}")
        return bool(now >= count)

    _wait("the webhook deliveries", delivered, 600)
    time.sleep(0.3)  # a repeat would arrive meanwhile
    records: list[list[Any]] = request(port, "GET", "/records")[1]
    service.stop()
    span = (records[-1][0] - records[0][0]) / 1e9
    rate = (len(records) - 1) / span if span > 0 else 0.0
    figure = Figure(
        f"{LABEL} ({count:,} queued, signed)",
        f"{rate:,.0f}/s ({rate / alone:.3f} × the target alone)",
        f"target alone: {alone:,.0f}/s",
        goal,
        ok=rate >= GOAL,
    )
    checks = [
        Check(
            f"webhook backlog: {count:,} sends answered and committed to the inbox first",
            sent.answered == count and not sent.errors,
            "; ".join(sent.errors[:3]),
        ),
        *_checks(records, base64.b64decode(secret), count),
    ]
    return Outcome([figure], checks)
