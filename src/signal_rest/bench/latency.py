"""Figure: how long a received message takes to reach each named consumer, at 1,000 msg/s.

Outside users send through the sandbox at a steady rate (1,000/s, or `--rate`); each text
carries its send time, and each consumer (listeners.py: two named websockets and a named
poller, each in a process of its own) notes its arrival. Latency = arrival − send: the sandbox,
the service's receive path and inbox commit, and the delivery to that consumer. The first
1,000 messages (50 in the short mode) are a warm-up, left out of the percentiles but not of
the correctness checks.
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from signal_rest.bench.generator import SENDERS, Sent, send, sender_of
from signal_rest.bench.listeners import CONSUMERS
from signal_rest.bench.options import Options
from signal_rest.bench.processes import ACCOUNT, BenchError, Service, World, wait_up
from signal_rest.bench.report import Check, Figure, Outcome
from signal_rest.bench.stats import percentile

__all__ = ["Size", "measure"]

GOAL_P99_MS = 5.0
# Seconds the listeners may take to finish once the last message is sent (each gives up by
# itself after a minute without a new message).
IDLE_LIMIT = 600


@dataclass(frozen=True)
class Size:
    messages: int
    warmup: int


FULL = Size(messages=10_000, warmup=1_000)
SHORT = Size(messages=300, warmup=50)


def _in_order(seqs: list[int]) -> bool:
    last: dict[str, int] = defaultdict(lambda: -1)
    for seq in seqs:
        sender = sender_of(seq)
        if seq <= last[sender]:
            return False
        last[sender] = seq
    return True


def _consumer(name: str, data: dict[str, Any], size: Size, rate: float) -> tuple[Figure, Check]:
    arrivals: list[list[int]] = data["arrivals"]
    errors: list[str] = data["errors"]
    seqs = [a[0] for a in arrivals]
    distinct = set(seqs)
    latencies = [(arrived - sent) / 1e6 for seq, sent, arrived in arrivals if seq >= size.warmup]
    p50, p99, worst = (percentile(latencies, p) for p in (50, 99, 100))
    kind, query = CONSUMERS[name]
    label = f"latency at {rate:,.0f} msg/s: {kind} consumer={name}" + (
        f" ({query.split('&')[0]})" if query else " (pongs)"
    )
    figure = Figure(
        label,
        f"p50 {p50:.1f} · p99 {p99:.1f} · max {worst:.1f} ms",
        "—",
        f"p99 ≤ {GOAL_P99_MS:g} ms",
        ok=p99 <= GOAL_P99_MS,
    )
    missing = size.messages - len(distinct & set(range(size.messages)))
    repeats = len(seqs) - len(distinct)
    ok = not errors and missing == 0 and repeats == 0 and _in_order(seqs)
    detail = "; ".join(errors) if errors else f"{missing} missing, {repeats} repeated"
    check = Check(
        f"{name}: every one of {size.messages:,} messages exactly once, in order per sender",
        ok,
        "" if ok else detail + ("" if _in_order(seqs) else ", out of order"),
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


def listen(
    world: World, service: Service, name: str, messages: int, rate: float, *listeners: str
) -> tuple[Sent, dict[str, Any]]:
    """`messages` sent at `rate` to the account of `service` while the listeners (named; all
    three consumers by default) receive them, each in a process of its own (its log:
    NAME-LISTENER.log); what was sent, and the listeners' results by name."""
    names = listeners or tuple(CONSUMERS)
    outs = {one: world.root / f"{name}-{one}.json" for one in names}
    processes = {
        one: world.helper(
            f"{name}-{one}",
            "signal_rest.bench.listeners",
            str(service.port),
            ACCOUNT,
            str(messages),
            str(out),
            one,
        )
        for one, out in outs.items()
    }
    for one, out in outs.items():
        ready = out.with_name(out.name + ".ready")
        wait_up(f"the {name} {one}", processes[one], ready.exists, seconds=30)
    sent = send(world.socket, count=messages, rate=rate)
    results: dict[str, Any] = {}
    for one, out in outs.items():
        process = processes[one]
        try:
            process.process.wait(IDLE_LIMIT)
        except subprocess.TimeoutExpired:
            raise BenchError(f"the {name} {one} did not finish:\n{process.tail()}") from None
        if not out.exists():
            raise BenchError(f"the {name} {one} wrote no results:\n{process.tail()}")
        results.update(json.loads(out.read_text()))
    return sent, results


def measure(world: World, options: Options) -> Outcome:
    size = SHORT if options.short else FULL
    rate = options.rate
    service = world.service("latency")
    world.register(service)
    sent, results = listen(world, service, "listeners", size.messages, rate)
    service.stop()
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
        figure, check = _consumer(name, results[name], size, rate)
        figures.append(figure)
        checks.append(check)
    return Outcome(figures, checks)
