"""Rate limits: the forms they are written in, and the bucket's arithmetic on a fake clock."""

from __future__ import annotations

import pytest

from signal_rest.auth.limits import Buckets, RateLimit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/second", RateLimit(10, 1.0, "10/second")),
        (" 60 / minute ", RateLimit(60, 60.0, "60/minute")),
        ("3/hour", RateLimit(3, 3600.0, "3/hour")),
        ("1000/day", RateLimit(1000, 86400.0, "1000/day")),
        ("unlimited", None),
        ("", None),
    ],
    ids=["second", "spaces", "hour", "day", "unlimited", "empty"],
)
def test_parse_reads_each_form(text: str, expected: RateLimit | None) -> None:
    assert RateLimit.parse(text) == expected


@pytest.mark.parametrize("text", ["5", "0/minute", "-1/minute", "5/week", "five/minute"])
def test_parse_refuses_other_forms(text: str) -> None:
    with pytest.raises(ValueError, match=f"invalid rate limit {text!r}"):
        RateLimit.parse(text)


def test_bucket_allows_a_burst_then_one_per_interval() -> None:
    now = [1000.0]
    limit = RateLimit(3, 60.0, "3/minute")
    buckets = Buckets(clock=lambda: now[0])
    assert [buckets.take("a", limit) for _ in range(4)] == [None, None, None, 20]
    assert buckets.take("b", limit) is None  # one bucket per token
    now[0] += 15.0
    assert buckets.take("a", limit) == 5
    now[0] += 5.0
    assert buckets.take("a", limit) is None
    assert buckets.take("a", limit) == 20
    now[0] += 3600.0  # a long pause refills no more than the burst
    assert [buckets.take("a", limit) for _ in range(4)] == [None, None, None, 20]
