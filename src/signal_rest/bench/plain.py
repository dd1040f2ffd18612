"""Figure: how long a received message takes to reach the plain websocket client, at
1,000 msg/s (or `--rate`).

The plain client is what every Home Assistant or signalbot user runs: `/v1/receive/{number}`
as a websocket, no consumer name, no acks. It runs alone (listeners.py, `plain`), on a service
of its own, so the latency figure's three named consumers are not in its way. Latency = arrival
− the send time in the text, the same as there; the first 1,000 messages (50 in the short mode)
are a warm-up, left out of the percentiles but not of the correctness check.
"""

from __future__ import annotations

from typing import Any

from signal_rest.bench.latency import GOAL_P99_MS
from signal_rest.bench.listeners import PLAIN
from signal_rest.bench.options import Options
from signal_rest.bench.processes import World
from signal_rest.bench.receiving import (
    FULL,
    SHORT,
    Size,
    in_order,
    latencies_ms,
    listen,
    missing,
    reference,
)
from signal_rest.bench.report import Check, Figure, Outcome
from signal_rest.bench.stats import percentile

__all__ = ["measure"]


def _check(data: dict[str, Any], size: Size, sent: Any) -> Check:
    seqs = [a[0] for a in data["arrivals"]]
    lost = missing(seqs, size)
    repeats = len(seqs) - len(set(seqs))
    ordered = in_order(seqs)
    problems = list(data["errors"]) + sent.errors[:3]
    ok = not problems and lost == 0 and repeats == 0 and ordered
    detail = "; ".join(problems) or f"{lost} missing, {repeats} repeated" + (
        "" if ordered else ", out of order"
    )
    return Check(
        f"plain websocket: every one of {size.messages:,} messages exactly once, in order per "
        "sender",
        ok,
        "" if ok else detail,
    )


def measure(world: World, options: Options) -> Outcome:
    size = SHORT if options.short else FULL
    rate = options.rate
    service = world.service("plain")
    world.register(service)
    sent, results = listen(world, service, "plain-listener", size.messages, rate, PLAIN)
    data = results[PLAIN]
    service.stop()
    floor, raw = reference(world, "plain", size, rate)
    latencies = latencies_ms(data["arrivals"], size)
    p50, p99, worst = (percentile(latencies, p) for p in (50, 99, 100))
    # Below the load asked for, the generator (or the machine) was the limit: a backlog grew
    # and the figure says how long it got.
    held = "" if sent.rate >= rate * 0.98 else " (load not held: a backlog)"
    figure = Figure(
        f"latency at {rate:,.0f} msg/s: plain websocket, no consumer name (alone)",
        f"p50 {p50:.1f} · p99 {p99:.1f} · max {worst:.1f} ms{held}",
        f"{floor}; load held: {sent.rate:,.0f}/s",
        f"p99 ≤ {GOAL_P99_MS:g} ms",
        ok=p99 <= GOAL_P99_MS,
    )
    return Outcome([figure], [_check(data, size, sent), raw])
