"""Which event loop a process of signal-rest runs on: uvloop where it is installed (the fast
one), asyncio's own otherwise. The service (`server.loop_factory`) and the sandbox's daemon
(`sandbox.runner`) both choose here, and both settle their garbage collector here.

    eventloop.settle_collector()      # once everything the process keeps is built
    with asyncio.Runner(loop_factory=eventloop.factory("auto")) as runner: ...
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
from collections.abc import Callable

__all__ = ["YOUNG_COLLECTION", "factory", "resolve", "settle_collector"]

YOUNG_COLLECTION = 10_000


def settle_collector() -> None:
    """Take what was built so far out of the collector's reach, and collect the youngest
    generation less often.

    What a process built before it serves lives as long as it does: frozen, a full collection
    no longer walks it (a pause of milliseconds each time). A request or a message allocates
    hundreds of short-lived objects, nearly all freed by their reference counts, so the
    youngest generation is collected every YOUNG_COLLECTION allocations instead of every 700:
    at the default, collections took ~7 % of the service's time under load and found next to
    nothing."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])


def resolve(choice: str) -> str:
    """ "uvloop" or "asyncio": `choice`, "auto" being uvloop where it is installed."""
    if choice == "auto":
        return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    return choice


def factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """What makes a new event loop of the kind `choice` resolves to."""
    if resolve(choice) == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop
