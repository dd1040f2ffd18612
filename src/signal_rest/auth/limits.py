"""Per-token rate limits: `N/second`, `N/minute` or `N/hour`, as a token bucket.

    limit = RateLimit.parse("60/minute")
    wait = buckets.take("token-id", limit)   # None: go ahead; else seconds until one is free

A bucket holds up to N requests and refills at N per period, so a client may burst N requests
and then goes on at the average rate.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["UNLIMITED", "Buckets", "RateLimit"]

UNLIMITED = "unlimited"
PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_FORM = re.compile(r"\s*([0-9]+)\s*/\s*(second|minute|hour|day)\s*")


@dataclass(frozen=True)
class RateLimit:
    count: int
    period: float
    text: str

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """The limit `text` names; None for `unlimited` (or an empty text). ValueError otherwise."""
        if text.strip() in ("", UNLIMITED):
            return None
        match = _FORM.fullmatch(text)
        if match is None or int(match[1]) < 1:
            raise ValueError(
                f"invalid rate limit {text!r}: expected N/second, N/minute, N/hour or N/day "
                f"with N >= 1, or {UNLIMITED!r}"
            )
        return cls(int(match[1]), PERIODS[match[2]], f"{int(match[1])}/{match[2]}")


class Buckets:
    """One bucket per token id, in memory (a restart refills them all)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float, RateLimit]] = {}

    def take(self, key: str, limit: RateLimit) -> int | None:
        """Take one request from `key`'s bucket: None if it had one, else whole seconds to wait."""
        now = self._clock()
        level, then, known = self._buckets.get(key, (float(limit.count), now, limit))
        if known != limit:
            level = min(level, float(limit.count))
        rate = limit.count / limit.period
        level = min(float(limit.count), level + (now - then) * rate)
        if level >= 1.0:
            self._buckets[key] = (level - 1.0, now, limit)
            return None
        self._buckets[key] = (level, now, limit)
        return max(1, math.ceil((1.0 - level) / rate))
