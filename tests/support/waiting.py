"""Waiting for something the code under test does in its own time, with a bound."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["wait_until"]


def wait_until(condition: Callable[..., object], what: str, timeout: float = 30) -> None:
    """Return once `condition()` is true; fail saying `what` was awaited after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.02)
