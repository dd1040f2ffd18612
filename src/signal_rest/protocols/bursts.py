"""Logging a burst of like events once, not once per event.

    refused = BurstLog(log, "connections refused")
    refused.hit(loop, "Refusing connections over max_connections=%d", 500)

The first event of a burst is logged as given; later ones are only counted, and while they keep
coming a summary ("1234 more connections refused in the last 10 s") is logged at most once per
`interval` seconds. A burst ends after an interval without events.
"""

from __future__ import annotations

import asyncio
import logging

__all__ = ["BurstLog"]


class BurstLog:
    def __init__(
        self,
        log: logging.Logger,
        what: str,
        *,
        level: int = logging.ERROR,
        interval: float = 10.0,
    ) -> None:
        self.log = log
        self.what = what
        self.level = level
        self.interval = interval
        self._count = 0
        self._timer: asyncio.TimerHandle | None = None

    def hit(self, loop: asyncio.AbstractEventLoop, message: str, *args: object) -> None:
        if self._timer is not None:
            self._count += 1
            return
        self.log.log(self.level, message, *args)
        self._timer = loop.call_later(self.interval, self._summarize, loop)

    def _summarize(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._count:
            self._timer = None  # the burst is over: the next event is logged in full
            return
        self.log.log(
            self.level, "%d more %s in the last %g s", self._count, self.what, self.interval
        )
        self._count = 0
        self._timer = loop.call_later(self.interval, self._summarize, loop)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
