"""The queue of request lines: small before large, in order within each, discards honoured."""

from __future__ import annotations

import asyncio

from signal_rest.jsonrpc.outbox import SMALL_LINE, Outbox

LARGE = b"L" * (SMALL_LINE + 1)
SMALL = b"s" * SMALL_LINE


async def test_get_takes_small_lines_before_large_ones_each_in_order() -> None:
    outbox = Outbox()
    outbox.put("1", LARGE + b"1")
    outbox.put("2", b"2")
    outbox.put("3", LARGE + b"3")
    outbox.put("4", SMALL)
    assert len(outbox) == 4
    taken = [await outbox.get() for _ in range(4)]
    assert taken == [b"2", SMALL, LARGE + b"1", LARGE + b"3"]
    assert len(outbox) == 0


async def test_discarded_line_is_never_taken() -> None:
    outbox = Outbox()
    outbox.put("1", b"one")
    outbox.put("2", LARGE)
    outbox.put("3", b"three")
    outbox.discard("1")
    outbox.discard("2")
    outbox.discard("9")  # unknown or already taken: nothing happens
    assert len(outbox) == 1
    assert await outbox.get() == b"three"


async def test_get_waits_for_a_line() -> None:
    outbox = Outbox()
    getting = asyncio.create_task(outbox.get())
    await asyncio.sleep(0.01)
    assert not getting.done()
    outbox.put("1", b"one")
    assert await asyncio.wait_for(getting, 5) == b"one"
    # Emptied again, it waits again instead of spinning on the old signal.
    again = asyncio.create_task(outbox.get())
    await asyncio.sleep(0.01)
    assert not again.done()
    outbox.put("2", b"two")
    assert await asyncio.wait_for(again, 5) == b"two"
