"""The retry schedule: exponential back-off with full jitter, bounded by the retry period."""

from __future__ import annotations

import pytest

from signal_rest.webhooks.retries import RetryPolicy


@pytest.mark.parametrize(
    ("attempts", "ceiling"),
    [(1, 1.0), (2, 2.0), (3, 4.0), (8, 128.0), (10, 512.0), (11, 600.0), (500, 600.0)],
    ids=["first", "second", "third", "eighth", "tenth", "capped", "far-capped"],
)
def test_backoff_doubles_from_a_second_up_to_the_cap(attempts: int, ceiling: float) -> None:
    assert RetryPolicy(3600, 600, random=lambda: 1.0).backoff(attempts) == ceiling
    assert RetryPolicy(3600, 600, random=lambda: 0.25).backoff(attempts) == ceiling / 4
    assert RetryPolicy(3600, 600, random=lambda: 0.0).backoff(attempts) == 0.0


def test_next_attempt_is_the_backoff_from_now() -> None:
    policy = RetryPolicy(3600, 600, random=lambda: 0.5)
    assert policy.next_attempt(3, failing_since=1000.0, now=1010.0) == 1012.0


def test_last_attempt_is_made_when_the_period_is_up() -> None:
    policy = RetryPolicy(3600, 600, random=lambda: 1.0)
    assert policy.next_attempt(20, failing_since=1000.0, now=4500.0) == 4600.0


def test_message_is_given_up_after_the_period() -> None:
    policy = RetryPolicy(3600, 600, random=lambda: 1.0)
    assert policy.next_attempt(20, failing_since=1000.0, now=4600.0) is None
    assert policy.next_attempt(1, failing_since=1000.0, now=9999.0) is None


def test_jitter_spreads_the_waits() -> None:
    waits = {RetryPolicy(3600, 600).backoff(6) for _ in range(50)}
    assert len(waits) > 40
    assert all(0 <= wait <= 32 for wait in waits)
