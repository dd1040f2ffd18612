"""Confirmations: frames count as delivered when the pong of a ping behind them comes back.
The pongs are futures the test answers, so the order of events is the test's to choose."""

from __future__ import annotations

import asyncio
from typing import Any

from signal_rest.inbox.pongs import Confirmations
from signal_rest.inbox.store import StoredMessage

ACCOUNT = "+4915100000001"


def stored(n: int) -> StoredMessage:
    return StoredMessage(n, ACCOUNT, {"envelope": {"timestamp": n}, "account": ACCOUNT})


class AnsweredPings:
    """Pings whose pongs are futures, answered by `answer(n)` (the n-th ping sent)."""

    def __init__(self) -> None:
        self.pongs: list[asyncio.Future[None]] = []

    def send(self) -> asyncio.Future[None]:
        self.pongs.append(asyncio.get_running_loop().create_future())
        return self.pongs[-1]

    def prepare(self) -> tuple[bytes, asyncio.Future[None]]:
        return b"", self.send()

    def answer(self, n: int) -> None:
        self.pongs[n].set_result(None)


class CommittingStream:
    """A stream whose each delivery waits until the test lets its commit finish."""

    def __init__(self) -> None:
        self.deliveries: list[list[int]] = []
        self.committing = asyncio.Event()
        self.commit = asyncio.Event()

    async def delivered(self, messages: list[StoredMessage]) -> None:
        self.deliveries.append([m.id for m in messages])
        self.committing.set()
        await self.commit.wait()
        self.commit.clear()


async def test_pongs_that_come_while_a_delivery_commits_are_delivered_together() -> None:
    stream, pings = CommittingStream(), AnsweredPings()
    confirmations = Confirmations(stream, pings, write_timeout=30)  # type: ignore[arg-type]
    running: asyncio.Task[Any] = asyncio.create_task(confirmations.run())
    for n in range(1, 5):
        confirmations.ping([stored(n)])  # a ping behind each frame, as at one message a time
    pings.answer(0)
    await asyncio.wait_for(stream.committing.wait(), 5)
    stream.committing.clear()
    for n in (1, 2):
        pings.answer(n)  # while 1 is being committed
    stream.commit.set()
    await asyncio.wait_for(stream.committing.wait(), 5)
    assert stream.deliveries == [[1], [2, 3]]  # not 2, then 3: one commit for both
    stream.committing.clear()
    pings.answer(3)
    stream.commit.set()
    await asyncio.wait_for(stream.committing.wait(), 5)
    confirmations.finish()
    stream.commit.set()
    await asyncio.wait_for(running, 5)
    assert stream.deliveries == [[1], [2, 3], [4]]
