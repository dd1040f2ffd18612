"""What a run was asked for; every figure function gets it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Options"]


@dataclass(frozen=True)
class Options:
    short: bool = False  # a few hundred messages per figure: a smoke run
    rate: float = 1000.0  # messages per second of the latency figure's load
    generator: str = "auto"  # the throughput figure's load: "wrk", "own" (loadgen.py), "auto"
