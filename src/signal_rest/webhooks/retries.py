"""When to try a message again: exponential back-off with full jitter, for a bounded period.

    policy = RetryPolicy(period=72 * 3600, max_backoff=600)
    retry_at = policy.next_attempt(attempts=3, failing_since=t0, now=now)   # None: give up

The n-th retry waits a random time between 0 and min(max_backoff, FIRST_BACKOFF * 2**(n-1)) (AWS's
"full jitter": targets that failed together do not come back together). The last attempt is made
when the period is up, however the waits fell, and the message is given up when that one fails.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["FIRST_BACKOFF", "RetryPolicy"]

# The longest wait before the first retry, in seconds.
FIRST_BACKOFF = 1.0


@dataclass(frozen=True)
class RetryPolicy:
    period: float  # seconds from a message's first failed attempt to giving it up
    max_backoff: float  # longest wait between two attempts
    random: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, attempts: int) -> float:
        """The wait after `attempts` failed attempts (1: after the first)."""
        ceiling = FIRST_BACKOFF * 2.0 ** min(max(attempts - 1, 0), 62)
        return min(self.max_backoff, ceiling) * self.random()

    def next_attempt(self, attempts: int, failing_since: float, now: float) -> float | None:
        """When to try again after `attempts` failures, the first at `failing_since`; None when
        the period is over and the message is to be given up."""
        deadline = failing_since + self.period
        if now >= deadline:
            return None
        return min(now + self.backoff(attempts), deadline)
