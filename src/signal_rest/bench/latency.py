"""Figure: how long a received message takes to reach each named consumer, at 1,000 msg/s.

Outside users send through the sandbox at a steady rate (1,000/s, or `--rate`); each text
carries its send time, and each consumer (listeners.py: two named websockets and a named
poller, each in a process of its own) notes its arrival. Latency = arrival − send: the sandbox,
the service's receive path and inbox commit, and the delivery to that consumer. The first
1,000 messages (50 in the short mode) are a warm-up, left out of the percentiles but not of
the correctness checks.
"""

from __future__ import annotations

from typing import Any

from signal_rest.bench.generator import SENDERS
from signal_rest.bench.listeners import CONSUMERS
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

__all__ = ["GOAL_P99_MS", "measure"]

GOAL_P99_MS = 5.0


def _consumer(
    name: str, data: dict[str, Any], size: Size, rate: float, floor: str
) -> tuple[Figure, Check]:
    arrivals: list[list[int]] = data["arrivals"]
    errors: list[str] = data["errors"]
    seqs = [a[0] for a in arrivals]
    latencies = latencies_ms(arrivals, size)
    p50, p99, worst = (percentile(latencies, p) for p in (50, 99, 100))
    kind, query = CONSUMERS[name]
    label = f"latency at {rate:,.0f} msg/s: {kind} consumer={name}" + (
        f" ({query.split('&')[0]})" if query else " (pongs)"
    )
    figure = Figure(
        label,
        f"p50 {p50:.1f} · p99 {p99:.1f} · max {worst:.1f} ms",
        floor,
        f"p99 ≤ {GOAL_P99_MS:g} ms",
        ok=p99 <= GOAL_P99_MS,
    )
    lost = missing(seqs, size)
    repeats = len(seqs) - len(set(seqs))
    ordered = in_order(seqs)
    ok = not errors and lost == 0 and repeats == 0 and ordered
    detail = "; ".join(errors) if errors else f"{lost} missing, {repeats} repeated"
    check = Check(
        f"{name}: every one of {size.messages:,} messages exactly once, in order per sender",
        ok,
        "" if ok else detail + ("" if ordered else ", out of order"),
    )
    return figure, check


def _kept_up(results: dict[str, Any], size: Size, load: float) -> Figure:
    """Messages per second from the first send to the last arrival at the slowest consumer:
    below the load, a backlog grew and the latencies say how long it got, not how fast one
    message travels."""
    arrivals = [a for name in CONSUMERS for a in results[name]["arrivals"]]
    rate = 0.0
    if arrivals:
        span = max(a[2] for a in arrivals) - min(a[1] for a in arrivals)
        rate = size.messages / (span / 1e9) if span > 0 else 0.0
    return Figure(
        "received → all three consumers, msg/s (first send to last arrival)",
        f"{rate:,.0f}/s",
        "—",
        f"≥ {load * 0.98:,.0f}/s (keeps up)",
        ok=rate >= load * 0.98,
    )


def measure(world: World, options: Options) -> Outcome:
    size = SHORT if options.short else FULL
    rate = options.rate
    service = world.service("latency")
    world.register(service)
    sent, results = listen(world, service, "listeners", size.messages, rate)
    service.stop()
    floor, raw = reference(world, "latency", size, rate)
    figures: list[Figure] = []
    checks: list[Check] = []
    checks.append(
        Check(
            f"generator: {size.messages:,} sends by {len(SENDERS)} outside users, all answered",
            sent.answered == size.messages and not sent.errors,
            "; ".join(sent.errors[:3]),
        )
    )
    figures.append(
        Figure(
            "load: sends per second the generator held (one pipelined connection)",
            f"{sent.rate:,.0f}/s",
            "—",
            f"≥ {rate * 0.98:,.0f}/s ({rate:,.0f} asked)",
            ok=sent.rate >= rate * 0.98,
        )
    )
    figures.append(_kept_up(results, size, rate))
    for name in CONSUMERS:
        figure, check = _consumer(name, results[name], size, rate, floor)
        figures.append(figure)
        checks.append(check)
    checks.append(raw)
    return Outcome(figures, checks)
