"""Figure: `/v2/send` per second on 64 keep-alive connections, against a hello-world route.

The load comes from `wrk` when it is on PATH (wrk.py), else from our own multi-process client
(loadgen.py); the row says which. Every send is a text from ACCOUNT to an outside user of the
sandbox. The reference, in the same run, is a hello-world FastAPI route (hello.py) served by
`signal_rest.server.server_config` as the service is, under the same load: the service's own
cost per request over what its server and framework cost anyway. Sends and hello-world take
turns (two rounds each in the full run), each after the machine has settled.

Checks: every send was answered 201 with a timestamp, and the sandbox recorded each of them
for the recipient once (`sandbox.countReceived`). wrk stops with up to one request per
connection in flight, which the service may still carry out, so with wrk the recorded count
may exceed the answered one by at most that many.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from signal_rest.bench import loadgen, wrk
from signal_rest.bench.loadgen import Load
from signal_rest.bench.options import Options
from signal_rest.bench.processes import (
    ACCOUNT,
    BenchError,
    Child,
    Service,
    World,
    free_port,
    request,
    wait_up,
)
from signal_rest.bench.report import Check, Figure, Outcome

__all__ = ["forward_server", "hello_server", "measure"]

RECIPIENT = "+4915100000202"  # an outside user of its own: its received count is this figure's
CONNECTIONS = 64
GOAL_RATE = 5000.0
GOAL_SHARE = 0.6
LABEL = f"/v2/send per second, {CONNECTIONS} keep-alive connections"


@dataclass(frozen=True)
class Size:
    rounds: int
    seconds: float  # per round, for each side


FULL = Size(rounds=2, seconds=5.0)
SHORT = Size(rounds=1, seconds=2.0)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _settle(children: list[Child], seconds: float = 10.0) -> None:
    """Wait until the processes are (nearly) idle: a send's aftermath (the delivery receipt
    going into the service's inbox) must not run into the next round."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        before = sum(_cpu_seconds(c.process.pid) for c in children)
        time.sleep(0.1)
        if sum(_cpu_seconds(c.process.pid) for c in children) - before < 0.01:
            return


def _load(generator: str, root: Path, port: int, body: bytes | None, seconds: float) -> Load:
    """A round of load: `body` POSTed to /v2/send (201 with a timestamp expected), or, with
    None, GET / of the hello-world server (200 with its hello)."""
    method, path, status, needle = (
        ("GET", "/", 200, b"hello") if body is None else ("POST", "/v2/send", 201, b"timestamp")
    )
    run = functools.partial(wrk.run, root) if generator == "wrk" else loadgen.run
    return run(
        port,
        method,
        path,
        body,
        connections=CONNECTIONS,
        seconds=seconds,
        status=status,
        needle=needle,
    )


def _generator(options: Options) -> str:
    if options.generator == "auto":
        return "wrk" if wrk.available() else "own"
    if options.generator == "wrk" and not wrk.available():
        raise BenchError("--generator wrk: wrk is not on PATH (apt-get install wrk)")
    return options.generator


def _answers(port: int, path: str) -> bool:
    with contextlib.suppress(OSError):
        return request(port, "GET", path)[0] == 200
    return False


def hello_server(world: World) -> tuple[Child, int, str]:
    """The hello-world server, its port and what serves it."""
    port = free_port()
    child = world.helper("hello", "signal_rest.bench.hello", "--port", str(port))
    wait_up("the hello-world server", child, lambda: _answers(port, "/server"))
    server = request(port, "GET", "/server")[1]
    return child, port, f"uvicorn {server['http']}, {server['loop']}"


def forward_server(world: World) -> tuple[Child, int]:
    """The route that only forwards sends to the sandbox (forward.py), connected, and its port."""
    port = free_port()
    child = world.helper(
        "forward", "signal_rest.bench.forward", "--port", str(port), "--socket", str(world.socket)
    )
    wait_up("the forwarding route", child, lambda: _answers(port, "/ready"))
    return child, port


def _forwarded(world: World, generator: str, size: Size, body: bytes) -> Load:
    """The same sends through the route that only forwards them, with the service stopped."""
    forward, port = forward_server(world)
    forwarded = Load()
    try:
        for _ in range(size.rounds):
            _settle([world.sandbox, forward])
            _add(forwarded, _load(generator, world.root, port, body, size.seconds))
    finally:
        forward.stop()
    return forwarded


def _received(world: World) -> int:
    count: int = world.control("sandbox.countReceived", {"number": RECIPIENT})["count"]
    return count


def _rounds(
    world: World, service: Service, hello_port: int, generator: str, size: Size, body: bytes
) -> tuple[Load, Load, dict[str, float]]:
    """Sends and hello-world taking turns: what each got, and the CPU seconds the service and
    the sandbox used during the sends."""
    sends, hellos = Load(), Load()
    busy = {"service": service, "sandbox": world.sandbox}
    cpu = dict.fromkeys(busy, 0.0)
    for _ in range(size.rounds):
        _settle(list(busy.values()))
        start = {name: _cpu_seconds(child.process.pid) for name, child in busy.items()}
        _add(sends, _load(generator, world.root, service.port, body, size.seconds))
        for name, child in busy.items():
            cpu[name] += _cpu_seconds(child.process.pid) - start[name]
        _settle(list(busy.values()))
        _add(hellos, _load(generator, world.root, hello_port, None, size.seconds))
    return sends, hellos, cpu


def measure(world: World, options: Options) -> Outcome:
    size = SHORT if options.short else FULL
    generator = _generator(options)
    service = world.service("throughput")
    world.register(service)
    world.control("sandbox.setNumber", {"number": RECIPIENT, "registered": True})
    hello, hello_port, server = hello_server(world)
    text = {"message": "throughput", "number": ACCOUNT, "recipients": [RECIPIENT]}
    body = json.dumps(text).encode()
    before = _received(world)
    try:
        try:
            sends, hellos, cpu = _rounds(world, service, hello_port, generator, size, body)
            recorded = _recorded(world, before, sends.answered)
        finally:
            service.stop()
        forwarded = _forwarded(world, generator, size, body)
    finally:
        hello.stop()
    rate, hello_rate = sends.rate, hellos.rate
    share = rate / hello_rate if hello_rate else 0.0
    floor = forwarded.rate / hello_rate if hello_rate else 0.0
    shares = [f"{name} {100 * s / sends.seconds:.0f} %" for name, s in cpu.items()]
    used = "wrk" if generator == "wrk" else "own load generator"
    reference = f"hello-world: {hello_rate:,.0f}/s ({server})"
    figures = [
        Figure(
            LABEL,
            f"{rate:,.0f}/s ({used}; CPU: {' · '.join(shares)})",
            reference,
            f"≥ {GOAL_RATE:,.0f}/s",
            ok=rate >= GOAL_RATE,
        ),
        Figure(
            f"{LABEL} ÷ a hello-world route, same server settings",
            f"{share:.2f} ×",
            f"{reference}; a route that only forwards the send (forward.py): "
            f"{forwarded.rate:,.0f}/s = {floor:.2f} ×",
            f"≥ {GOAL_SHARE:g} ×",
            ok=share >= GOAL_SHARE,
        ),
    ]
    slack = CONNECTIONS * size.rounds if generator == "wrk" else 0
    recorded_ok = sends.answered <= recorded <= sends.answered + slack
    checks = [
        Check(
            "throughput: every /v2/send answered 201 with a timestamp",
            sends.answered > 0 and sends.bad == 0 and not sends.errors,
            "; ".join([*sends.errors, *sends.samples][:3])
            or ("" if sends.answered else "no answers"),
        ),
        Check(
            "throughput: the sandbox recorded each answered send once",
            recorded_ok,
            ""
            if recorded_ok
            else f"{recorded:,} recorded, {sends.answered:,} answered"
            + (f", at most {slack} cut off in flight by wrk" if slack else ""),
        ),
        Check(
            "throughput: every send through the forwarding route answered 201 with a timestamp",
            forwarded.answered > 0 and forwarded.bad == 0 and not forwarded.errors,
            "; ".join([*forwarded.errors, *forwarded.samples][:3]),
        ),
        Check(
            "throughput: every hello-world request answered 200",
            hellos.answered > 0 and hellos.bad == 0 and not hellos.errors,
            "; ".join([*hellos.errors, *hellos.samples][:3]),
        ),
    ]
    return Outcome(figures, checks)


def _add(total: Load, run: Load) -> None:
    total.answered += run.answered
    total.bad += run.bad
    total.samples += run.samples
    total.errors += run.errors
    total.seconds += run.seconds


def _recorded(world: World, before: int, answered: int) -> int:
    """What the sandbox recorded for RECIPIENT during the rounds. The rounds end on a settled
    machine, so what was in flight has landed; a count still short gets a while to catch up."""
    deadline = time.monotonic() + 30
    while (recorded := _received(world) - before) < answered and time.monotonic() < deadline:
        time.sleep(0.1)
    return recorded
