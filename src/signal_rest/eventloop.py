"""Which event loop a process of signal-rest runs on: uvloop where it is installed (the fast
one), asyncio's own otherwise. The service (`server.loop_factory`) and the sandbox's daemon
(`sandbox.runner`) both choose here.

    with asyncio.Runner(loop_factory=eventloop.factory("auto")) as runner: ...
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable

__all__ = ["factory", "resolve"]


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
