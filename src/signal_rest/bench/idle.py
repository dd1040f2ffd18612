"""Figure: the resident memory of a freshly started service, idle after a few typical
requests.

A service is started on a data dir of its own (the account registered through it if no figure
did so before), answers what a user's first minute asks — about, accounts, one send, one
receive (an outside user's message waiting) — and is then left alone for a second; its VmRSS
(/proc/PID/status) is the figure. The reference, in the same run: a hello-world FastAPI app
under uvicorn (idle_app.py) after as many requests and the same second.
"""

from __future__ import annotations

import contextlib
import time
from urllib.parse import quote

from signal_rest.bench.generator import SENDERS
from signal_rest.bench.memory import MIB, rss
from signal_rest.bench.options import Options
from signal_rest.bench.processes import ACCOUNT, BenchError, World, free_port, request
from signal_rest.bench.report import Check, Figure, Outcome

__all__ = ["measure"]

GOAL_MIB = 45.0
IDLE = 1.0


def _typical(world: World, port: int) -> list[str]:
    """The requests of a user's first minute; what did not answer as it should."""
    number = quote(ACCOUNT)
    world.control(
        "sandbox.send", {"from": SENDERS[0], "recipient": [ACCOUNT], "message": "hello there"}
    )
    send = {"message": "hi", "number": ACCOUNT, "recipients": [SENDERS[0]]}
    asked = [
        ("GET", "/v1/about", None, 200),
        ("GET", "/v1/accounts", None, 200),
        ("POST", "/v2/send", send, 201),
        ("GET", f"/v1/receive/{number}?timeout=1", None, 200),
    ]
    wrong = []
    for method, path, body, expected in asked:
        status, answer = request(port, method, path, body)
        if status != expected:
            wrong.append(f"{method} {path}: {status} {answer}")
        elif method == "GET" and path.startswith("/v1/receive") and not answer:
            wrong.append(f"{method} {path}: nothing received")
    return wrong


def _reference(world: World) -> int:
    port = free_port()
    app = world.helper("idle-app", "signal_rest.bench.idle_app", str(port))
    deadline = time.monotonic() + 30
    while True:
        app.alive()
        with contextlib.suppress(OSError):
            if request(port, "GET", "/")[0] == 200:
                break
        if time.monotonic() > deadline:
            raise BenchError(f"the hello-world app did not come up:\n{app.tail()}")
        time.sleep(0.05)
    for _ in range(3):
        request(port, "GET", "/")
    time.sleep(IDLE)
    resident = rss(app.process.pid)
    app.stop()
    return resident


def measure(world: World, options: Options) -> Outcome:
    service = world.service("idle")
    world.register(service)
    wrong = _typical(world, service.port)
    time.sleep(IDLE)  # what is measured: the service left alone for a second
    resident = rss(service.process.pid)
    service.stop()
    hello = _reference(world)
    figure = Figure(
        "idle resident memory after startup, registration and 4 typical requests",
        f"{resident / MIB:.1f} MiB ({resident / hello:.2f} × hello-world)",
        f"hello-world FastAPI on uvicorn: {hello / MIB:.1f} MiB",
        f"≤ {GOAL_MIB:g} MiB",
        ok=resident <= GOAL_MIB * MIB,
    )
    check = Check(
        "idle: about, accounts, send (201) and receive (the waiting message) answered",
        not wrong,
        "; ".join(wrong),
    )
    return Outcome([figure], [check])
