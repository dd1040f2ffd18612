"""`python -m signal_rest.bench [--short] [--rate N] [--only NAME] [--json PATH] [--keep]`."""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from signal_rest.bench import (
    attachment,
    commits,
    idle,
    latency,
    plain,
    sending,
    throughput,
    webhooks,
)
from signal_rest.bench.machine import describe, load
from signal_rest.bench.options import Options
from signal_rest.bench.processes import BenchError, World
from signal_rest.bench.report import Outcome, render, to_json

__all__ = ["FIGURES", "main"]

# name -> the function that measures it, in the order of the table.
FIGURES: dict[str, Callable[[World, Options], Outcome]] = {
    "latency": latency.measure,
    "webhooks": webhooks.measure,
    "sending": sending.measure,
    "throughput": throughput.measure,
    "commits": commits.measure,
    "plain": plain.measure,
    "idle": idle.measure,
    "attachment": attachment.measure,
}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m signal_rest.bench",
        description="Measure signal-rest as a user runs it (docs/performance.md).",
    )
    parser.add_argument("--short", action="store_true", help="a few hundred messages per figure")
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="the latency figure's load, msg/s (1000)"
    )
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "own"),
        default="auto",
        help="the throughput figure's load: wrk, our own loadgen.py, or wrk when on PATH (auto)",
    )
    parser.add_argument("--only", choices=sorted(FIGURES), action="append", help="these figures")
    parser.add_argument("--json", type=Path, help="also write the results there as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (logs)")
    return parser.parse_args()


def _exit(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


def main() -> None:
    args = _arguments()
    # A SIGTERM ends the run through `finally`, which stops the processes it started.
    signal.signal(signal.SIGTERM, _exit)
    options = Options(short=args.short, rate=args.rate, generator=args.generator)
    load_before = load()
    root = Path(tempfile.mkdtemp(prefix="signal-rest-bench-"))
    world: World | None = None
    outcomes: list[Outcome] = []
    try:
        world = World(root)
        for name, measure in FIGURES.items():
            if args.only and name not in args.only:
                continue
            print(f"measuring {name} …", file=sys.stderr, flush=True)
            outcomes.append(measure(world, options))
    except (BenchError, OSError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        sys.exit(2)
    finally:
        if world is not None:
            world.stop()
        if args.keep:
            print(f"logs in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    machine = describe(load_before)
    print(render(outcomes, machine))
    if args.json:
        args.json.write_text(json.dumps(to_json(outcomes, machine), indent=2) + "\n")
    if not all(check.ok for outcome in outcomes for check in outcome.checks):
        sys.exit(1)
