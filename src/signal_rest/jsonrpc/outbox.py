"""The request lines waiting to be written to the daemon, one queue per connection.

Only callers that are still waiting have a line here: one that gives up discards its line, so
what a frozen daemon makes the service hold is bounded by the requests in flight. Small lines
(a health check, most calls) are written before large waiting ones (a 20 MB send): newline
framing lets one line not be interleaved with another, but it does not fix their order.
"""

from __future__ import annotations

import asyncio

__all__ = ["SMALL_LINE", "Outbox"]

# Lines up to this size are written before larger ones that are waiting.
SMALL_LINE = 64 * 1024


class Outbox:
    """The lines waiting for a connection's writer, by request id.

        outbox.put("7", line)        # a caller queues its request line
        line = await outbox.get()    # the writer takes the next one
        outbox.discard("7")          # the caller gave up: if not taken yet, it never will be

    Small lines come out before large ones, each kind in the order queued.
    """

    def __init__(self) -> None:
        self._small: dict[str, bytes] = {}
        self._large: dict[str, bytes] = {}
        self._queued = asyncio.Event()

    def put(self, request_id: str, line: bytes) -> None:
        (self._small if len(line) <= SMALL_LINE else self._large)[request_id] = line
        self._queued.set()

    def discard(self, request_id: str) -> None:
        self._small.pop(request_id, None)
        self._large.pop(request_id, None)

    def __len__(self) -> int:
        return len(self._small) + len(self._large)

    async def get(self) -> bytes:
        while not (self._small or self._large):
            self._queued.clear()
            await self._queued.wait()
        queue = self._small or self._large
        return queue.pop(next(iter(queue)))
