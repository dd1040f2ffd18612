"""The inbox's hand-out rules, with its real SQLite store: polls and websocket streams of one
account, concurrently. Each test pins a behaviour a broken inbox once got wrong."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import Any

import pytest

from signal_rest.inbox.delivery import Inbox, message_of
from signal_rest.inbox.store import StoredMessage
from signal_rest.jsonrpc.client import RpcClient
from signal_rest.jsonrpc.transports import UnixTransport
from tests.jsonrpc.conftest import LineServer

ACCOUNT = "+4915100000001"
OTHER = "+4915100000002"


# Every delivered mark fails (a real SQLite error) until `DROP TRIGGER refuse`.
REFUSE_MARKS = (
    "CREATE TRIGGER refuse BEFORE UPDATE ON messages BEGIN SELECT RAISE(ABORT, 'refused'); END"
)


def message(ts: int, account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "envelope": {"timestamp": ts, "dataMessage": {"timestamp": ts, "message": f"m{ts}"}},
        "account": account,
    }


def stamps(messages: list[StoredMessage]) -> list[int]:
    return [m.message["envelope"]["timestamp"] for m in messages]


async def arrive(inbox: Inbox, *stamps_: int, account: str = ACCOUNT) -> None:
    for ts in stamps_:
        await inbox.on_notification("receive", message(ts, account))


async def waiting(inbox: Inbox, account: str = ACCOUNT) -> None:
    """Until a poll of `account` is waiting for a new message."""
    while not inbox._waiters.get(account):
        await asyncio.sleep(0.001)


async def pending_stamps(inbox: Inbox, account: str = ACCOUNT) -> list[int]:
    return stamps(await inbox.store.pending(account))


def count_reads(inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the number of rows each read of pending messages returns."""
    read = inbox.store.pending
    sizes: list[int] = []

    async def counted(
        account: str, limit: int | None = None, *, after: int | None = None
    ) -> list[StoredMessage]:
        rows = await read(account, limit, after=after)
        sizes.append(len(rows))
        return rows

    monkeypatch.setattr(inbox.store, "pending", counted)
    return sizes


async def test_poll_takes_what_is_pending_oldest_first_and_marks_it_delivered(
    inbox: Inbox,
) -> None:
    await arrive(inbox, 1, 2)
    await arrive(inbox, 3, account=OTHER)
    batch = await inbox.poll(ACCOUNT, limit=None, timeout=0)
    assert stamps(batch.messages) == [1, 2]
    assert await pending_stamps(inbox) == [1, 2]  # not delivered before the client has them
    await batch.delivered()
    assert await pending_stamps(inbox) == []
    assert await pending_stamps(inbox, OTHER) == [3]
    assert inbox._claims == {}


async def test_poll_is_woken_by_a_new_message(inbox: Inbox) -> None:
    poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=10))
    await waiting(inbox)
    await arrive(inbox, 1)
    batch = await asyncio.wait_for(poll, 5)  # not its own timeout of 10
    assert stamps(batch.messages) == [1]
    assert inbox._waiters == {}


async def test_poll_is_not_woken_by_another_accounts_message(inbox: Inbox) -> None:
    poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=0.3))
    await waiting(inbox)
    await arrive(inbox, 1, account=OTHER)
    assert (await poll).messages == []
    assert await pending_stamps(inbox, OTHER) == [1]


async def test_poll_with_nothing_pending_answers_empty_at_its_timeout(inbox: Inbox) -> None:
    batch = await inbox.poll(ACCOUNT, limit=None, timeout=0.1)
    assert batch.messages == []
    assert inbox._waiters == {}


async def test_poll_of_a_client_that_left_takes_nothing(inbox: Inbox) -> None:
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=10, gone=gone))
    await waiting(inbox)
    gone.set_result(None)
    assert (await asyncio.wait_for(poll, 5)).messages == []
    await arrive(inbox, 1)
    assert inbox._claims == {}
    assert await pending_stamps(inbox) == [1]


async def test_poll_woken_for_a_message_another_poll_took_waits_on(inbox: Inbox) -> None:
    first = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=10))
    await waiting(inbox)
    await arrive(inbox, 1)
    # A newcomer claims it before the woken poll gets to read; that poll waits on.
    claimed = await inbox.claim(ACCOUNT)
    assert stamps(claimed.messages) == [1]
    await arrive(inbox, 2)
    batch = await asyncio.wait_for(first, 5)
    assert stamps(batch.messages) == [2]


async def test_released_batch_is_pending_again_and_wakes_a_waiting_poll(inbox: Inbox) -> None:
    await arrive(inbox, 1)
    abandoned = await inbox.poll(ACCOUNT, limit=None, timeout=0)
    poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=10))
    await waiting(inbox)
    abandoned.release()
    batch = await asyncio.wait_for(poll, 5)
    assert stamps(batch.messages) == [1]
    abandoned.release()  # settling twice changes nothing: the new claim holds
    assert await inbox.take(ACCOUNT) == []
    await batch.delivered()
    await abandoned.delivered()
    assert await pending_stamps(inbox) == []
    assert (inbox._claims, inbox._polled) == ({}, set())


async def test_batch_whose_delivery_fails_is_pending_again_for_a_waiting_poll(
    inbox: Inbox,
) -> None:
    await arrive(inbox, 1)
    batch = await inbox.claim(ACCOUNT)
    poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=10))
    await waiting(inbox)
    await inbox.store.write(lambda conn: conn.execute("PRAGMA query_only = 1"))
    with pytest.raises(sqlite3.OperationalError):
        await batch.delivered()
    assert stamps((await asyncio.wait_for(poll, 5)).messages) == [1]


async def test_poll_limit_skips_claims_of_this_and_other_accounts(inbox: Inbox) -> None:
    await arrive(inbox, 9, account=OTHER)
    other = await inbox.claim(OTHER)
    with inbox.stream(ACCOUNT, bound=1) as stream:
        await arrive(inbox, 1, 2, 3, 4)
        assert stream.held == 1
        assert stamps(await inbox.take(ACCOUNT, 1)) == [2]
        assert stamps(await inbox.take(ACCOUNT, 3)) == [3, 4]
    assert stamps(other.messages) == [9]


async def test_closing_a_stream_lets_go_of_all_it_holds_alone(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT, bound=1) as full:
        with inbox.stream(ACCOUNT) as leaving:
            await arrive(inbox, 1, 2)  # 1 to both; 2 does not fit `full`
            assert (leaving.held, full.held) == (2, 1)
        assert stamps(await inbox.take(ACCOUNT)) == [2]  # 1 is still out on `full`
    assert inbox._claims == {}


async def test_claimed_messages_are_not_claimed_twice(inbox: Inbox) -> None:
    await arrive(inbox, 1, 2, 3)
    first, second = await asyncio.gather(inbox.claim(ACCOUNT, 2), inbox.claim(ACCOUNT, 2))
    assert sorted([stamps(first.messages), stamps(second.messages)]) == [[1, 2], [3]]


@pytest.mark.parametrize("consumer", ["poll", "stream"])
async def test_poll_reading_while_another_consumer_delivers_does_not_take_it_again(
    inbox: Inbox, consumer: str
) -> None:
    with inbox.stream(ACCOUNT) as stream:
        if consumer == "poll":
            stream.close()
        await arrive(inbox, 1)
        if consumer == "poll":
            batch = await inbox.claim(ACCOUNT)
            deliver = batch.delivered
        else:
            sent = await stream.get()

            async def deliver() -> None:
                await stream.delivered([sent])

        gate = threading.Event()
        blocker = asyncio.create_task(inbox.store.write(lambda conn: gate.wait(10)))
        delivering = asyncio.create_task(deliver())  # queued behind the blocker
        await asyncio.sleep(0.05)
        # A read now would still see the row pending, and the claim released before it
        # returns: claiming waits for the delivery in flight instead.
        claiming = asyncio.create_task(inbox.claim(ACCOUNT))
        await asyncio.sleep(0.1)
        done_early = claiming.done()
        gate.set()
        await asyncio.wait_for(asyncio.gather(blocker, delivering), 10)
        assert not done_early
        assert (await asyncio.wait_for(claiming, 10)).messages == []
    assert await pending_stamps(inbox) == []


async def test_poll_takes_at_most_its_limit(inbox: Inbox) -> None:
    await arrive(inbox, 1, 2, 3)
    first = await inbox.poll(ACCOUNT, limit=2, timeout=0)
    second = await asyncio.wait_for(inbox.poll(ACCOUNT, limit=1, timeout=10), 5)
    assert (stamps(first.messages), stamps(second.messages)) == ([1, 2], [3])
    waiting_poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=1, timeout=10))
    await waiting(inbox)
    await arrive(inbox, 4, 5)
    assert stamps((await asyncio.wait_for(waiting_poll, 5)).messages) == [4]


async def test_poll_of_a_client_already_gone_takes_nothing(inbox: Inbox) -> None:
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    gone.set_result(None)
    poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=10, gone=gone))
    assert (await asyncio.wait_for(poll, 5)).messages == []
    await arrive(inbox, 1)
    assert await pending_stamps(inbox) == [1]
    assert inbox._claims == {}


async def test_poll_watching_for_the_client_is_woken_by_a_new_message(inbox: Inbox) -> None:
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=10, gone=gone))
    await waiting(inbox)
    await arrive(inbox, 1)
    batch = await asyncio.wait_for(poll, 5)  # not its own timeout of 10
    assert stamps(batch.messages) == [1]
    assert not gone.done()
    gone.cancel()


async def test_poll_max_messages_counts_only_messages_no_stream_holds(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT, bound=2) as stream:
        await arrive(inbox, 1, 2, 3, 4, 5)
        assert stream.held == 2  # 1 and 2; the rest did not fit
        assert stamps(await inbox.take(ACCOUNT, 2)) == [3, 4]
        assert stamps(await inbox.take(ACCOUNT, 1)) == [5]
        assert await inbox.take(ACCOUNT, 1) == []
        assert await pending_stamps(inbox) == [1, 2]


async def test_stream_gets_the_backlog_first_then_new_messages(inbox: Inbox) -> None:
    await arrive(inbox, 1, 2)
    with inbox.stream(ACCOUNT) as stream:
        first, second = await stream.get(), await stream.get()
        await arrive(inbox, 3)
        third = await asyncio.wait_for(stream.get(), 5)
        await stream.delivered([first, second, third])
    assert stamps([first, second, third]) == [1, 2, 3]
    assert await pending_stamps(inbox) == []
    assert inbox._claims == {}


async def test_stream_sends_its_backlog_before_a_message_that_came_as_it_opened(
    inbox: Inbox,
) -> None:
    await arrive(inbox, 1, 2)
    with inbox.stream(ACCOUNT) as stream:
        await arrive(inbox, 3)  # handed to the stream before its first `get` read the backlog
        got = [await stream.get() for _ in range(3)]
        await stream.delivered(got)
    assert stamps(got) == [1, 2, 3]
    assert await pending_stamps(inbox) == []


async def test_stream_new_message_is_not_woken_for_polls(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT) as stream:
        await asyncio.wait_for(_idle(stream), 5)
        poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=0.3))
        await waiting(inbox)
        await arrive(inbox, 1)
        assert not any(woken.is_set() for woken in inbox._waiters[ACCOUNT])
        assert (await poll).messages == []
        assert stamps([await stream.get()]) == [1]


async def test_stream_message_read_before_its_notification_is_not_woken_for_polls(
    inbox: Inbox,
) -> None:
    with inbox.stream(ACCOUNT) as stream:
        message_id = await inbox.store.add(ACCOUNT, message(1))
        read = await stream.get()  # from the store, before the hand-out
        poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=10))
        await waiting(inbox)
        inbox._hand_out(StoredMessage(message_id or 0, ACCOUNT, message(1)))
        assert not any(woken.is_set() for woken in inbox._waiters[ACCOUNT])
        poll.cancel()
        assert (stamps([read]), stream.held, stream.queued) == ([1], 1, 0)


async def _idle(stream: Any) -> None:
    # Read the (empty) backlog so that the stream takes new messages as they come.
    get = asyncio.create_task(stream.get())
    await asyncio.sleep(0.05)
    assert not get.done()
    get.cancel()


async def test_stream_at_its_bound_waits_for_a_delivery(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT, bound=1) as stream:
        await arrive(inbox, 1, 2)
        first = await stream.get()
        second = asyncio.create_task(stream.get())
        await asyncio.sleep(0.05)
        assert not second.done()  # 2 did not fit, and 1 is still out
        await stream.delivered([first])
        assert stamps([first, await asyncio.wait_for(second, 5)]) == [1, 2]


async def test_stream_closed_while_catching_up_claims_nothing(inbox: Inbox) -> None:
    await arrive(inbox, 1)
    with inbox.stream(ACCOUNT) as stream:
        with inbox.store._read_lock:  # the backlog's read waits here
            getting = asyncio.create_task(stream.get())
            await asyncio.sleep(0.05)
            stream.close()
        await asyncio.sleep(0.05)
        getting.cancel()
        assert inbox._claims == {}
        assert stamps(await inbox.take(ACCOUNT)) == [1]


async def test_message_a_poll_claimed_before_its_hand_out_goes_to_no_stream(
    inbox: Inbox,
) -> None:
    with inbox.stream(ACCOUNT) as stream:
        await asyncio.wait_for(_idle(stream), 5)
        # Stored, then claimed by a poll before the notification's hand-out ran.
        message_id = await inbox.store.add(ACCOUNT, message(1))
        assert message_id is not None
        batch = await inbox.claim(ACCOUNT)
        inbox._hand_out(StoredMessage(message_id, ACCOUNT, message(1)))
        assert (stream.held, stamps(batch.messages)) == (0, [1])


async def test_two_streams_each_get_every_new_message(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT) as first, inbox.stream(ACCOUNT) as second:
        await arrive(inbox, 1)
        one, two = await first.get(), await second.get()
        assert stamps([one, two]) == [1, 1]
        assert inbox._claims == {one.id: 2}


async def test_closing_one_of_two_streams_keeps_the_other_live(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT) as staying:
        with inbox.stream(ACCOUNT):
            pass
        await arrive(inbox, 1)
        assert stamps([await asyncio.wait_for(staying.get(), 5)]) == [1]
        assert await inbox.take(ACCOUNT) == []


async def test_message_held_by_two_streams_is_pending_until_the_last_lets_go(
    inbox: Inbox,
) -> None:
    with inbox.stream(ACCOUNT) as first:
        with inbox.stream(ACCOUNT) as second:
            await arrive(inbox, 1)
            await first.get()
            held = await second.get()
        # The closed stream let go; the open one still has it in hand.
        assert await inbox.take(ACCOUNT) == []
        await first.delivered([held])
    assert await pending_stamps(inbox) == []
    assert await inbox.take(ACCOUNT) == []


async def test_message_delivered_by_one_stream_is_not_pending_when_the_other_closes(
    inbox: Inbox,
) -> None:
    with inbox.stream(ACCOUNT) as first:
        with inbox.stream(ACCOUNT) as second:
            await arrive(inbox, 1)
            await second.get()
            await first.delivered([await first.get()])
        assert inbox._claims == {}
    assert await pending_stamps(inbox) == []


async def test_stream_closed_with_unsent_messages_wakes_a_waiting_poll(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT) as stream:
        await arrive(inbox, 1, 2)
        await stream.get()  # sent, never confirmed
        poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=10))
        await waiting(inbox)
    batch = await asyncio.wait_for(poll, 5)
    assert stamps(batch.messages) == [1, 2]
    assert stream.held == 0


async def test_stream_holds_no_more_than_its_bound_and_polls_get_the_rest(
    inbox: Inbox,
) -> None:
    with inbox.stream(ACCOUNT, bound=3) as stream:
        poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=10))
        await waiting(inbox)
        await arrive(inbox, *range(1, 11))
        assert (stream.held, stream.queued) == (3, 3)
        batch = await asyncio.wait_for(poll, 5)
        # Woken by the first message the stream could not take.
        assert stamps(batch.messages) == list(range(4, 4 + len(batch.messages)))
        assert stamps(await inbox.take(ACCOUNT)) == list(range(4 + len(batch.messages), 11))


async def test_stream_behind_catches_up_from_the_store_in_order(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT, bound=2) as stream:
        await arrive(inbox, 1, 2, 3, 4, 5)
        first = [await stream.get(), await stream.get()]
        await stream.delivered(first)
        rest = [await asyncio.wait_for(stream.get(), 5) for _ in range(2)]
        assert stream.held == 2
        await stream.delivered(rest)
        last = await asyncio.wait_for(stream.get(), 5)
        await stream.delivered([last])
    assert stamps([*first, *rest, last]) == [1, 2, 3, 4, 5]
    assert await pending_stamps(inbox) == []


async def test_stream_behind_sends_no_new_message_ahead_of_what_waits_in_the_store(
    inbox: Inbox,
) -> None:
    with inbox.stream(ACCOUNT, bound=2) as stream:
        await arrive(inbox, 1, 2, 3, 4)  # 3 and 4 do not fit: they wait in the store
        got = [await stream.get(), await stream.get()]
        await stream.delivered(got[:1])  # room for one again
        await arrive(inbox, 5)  # new, while 3 and 4 still wait
        got.append(await asyncio.wait_for(stream.get(), 5))
        await stream.delivered(got[1:])
        got += [await asyncio.wait_for(stream.get(), 5) for _ in range(2)]
        await stream.delivered(got[3:])
    assert stamps(got) == [1, 2, 3, 4, 5]
    assert await pending_stamps(inbox) == []


async def test_stream_catching_up_leaves_a_message_that_came_meanwhile_behind_the_rest(
    inbox: Inbox,
) -> None:
    with inbox.stream(ACCOUNT, bound=2) as stream:
        await arrive(inbox, 1, 2, 3, 4, 5)  # 3, 4 and 5 wait in the store
        got = [await stream.get(), await stream.get()]
        await stream.delivered(got)
        with inbox.store._read_lock:  # the catch-up's read of 3 and 4 waits here
            reading = asyncio.create_task(stream.get())
            await asyncio.sleep(0.05)
            await arrive(inbox, 6)  # committed while the read waits
        got.append(await asyncio.wait_for(reading, 5))
        got.append(await asyncio.wait_for(stream.get(), 5))
        await stream.delivered(got[2:])
        got += [await asyncio.wait_for(stream.get(), 5) for _ in range(2)]
        await stream.delivered(got[4:])
    assert stamps(got) == [1, 2, 3, 4, 5, 6]
    assert await pending_stamps(inbox) == []


async def test_stream_reads_again_for_a_message_left_in_the_store_as_it_read(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with inbox.stream(ACCOUNT, bound=3) as stream:
        await arrive(inbox, 1, 2, 3, 4)  # 4 does not fit
        got = [await stream.get() for _ in range(3)]
        await stream.delivered(got)
        read = inbox._unclaimed

        async def read_then_arrive(
            account: str, limit: int | None, *, after: int | None = None
        ) -> list[StoredMessage]:
            rows = await read(account, limit, after=after)
            if stamps(rows) == [4]:
                await arrive(inbox, 5)  # committed after the read saw the store
            return rows

        monkeypatch.setattr(inbox, "_unclaimed", read_then_arrive)
        got += [await asyncio.wait_for(stream.get(), 5) for _ in range(2)]
        await stream.delivered(got[3:])
    assert stamps(got) == [1, 2, 3, 4, 5]
    assert await pending_stamps(inbox) == []


async def test_stream_catching_up_reads_only_beyond_what_it_holds(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = count_reads(inbox, monkeypatch)
    with inbox.stream(ACCOUNT, bound=10) as stream:
        await arrive(inbox, *range(1, 31))  # 11 to 30 wait in the store
        out = [await stream.get() for _ in range(10)]
        sizes.clear()
        for n in range(20):  # the client confirms one message at a time
            await stream.delivered(out[n : n + 1])
            out.append(await asyncio.wait_for(stream.get(), 5))
        await stream.delivered(out[20:])
    assert stamps(out) == list(range(1, 31))
    # One row per read: not the nine messages still out on the websocket each time as well.
    assert sizes == [1] * 20


async def test_stream_that_fell_behind_after_live_messages_reads_only_beyond_them(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with inbox.stream(ACCOUNT, bound=2) as stream:
        await asyncio.wait_for(_idle(stream), 5)
        sizes = count_reads(inbox, monkeypatch)
        await arrive(inbox, 1, 2, 3)  # 1 and 2 come live; 3 does not fit
        got = [await stream.get(), await stream.get()]
        await stream.delivered(got[:1])
        got.append(await asyncio.wait_for(stream.get(), 5))
        await stream.delivered(got[1:])
    assert stamps(got) == [1, 2, 3]
    assert sizes == [1]  # 3 alone: not 2 as well, still out on the websocket


async def test_fresh_stream_whose_backlog_fills_it_gives_back_what_came_before_the_read(
    inbox: Inbox,
) -> None:
    await arrive(inbox, 1, 2, 3)
    with inbox.stream(ACCOUNT, bound=3) as stream:
        await arrive(inbox, 4)  # taken at once: the stream has not read its backlog yet
        assert stream.held == 1
        got = [await asyncio.wait_for(stream.get(), 5) for _ in range(3)]
        assert stream.held == 3  # 4 went back to the store, behind 1, 2 and 3
        await stream.delivered(got)
        got.append(await asyncio.wait_for(stream.get(), 5))
        await stream.delivered(got[3:])
    assert stamps(got) == [1, 2, 3, 4]
    assert await pending_stamps(inbox) == []
    assert inbox._claims == {}


@pytest.mark.parametrize("backlog", [[1], [1, 2]], ids=["part", "full"])
async def test_fresh_stream_that_new_messages_filled_sends_its_backlog_first(
    inbox: Inbox, backlog: list[int]
) -> None:
    await arrive(inbox, *backlog)
    new = [len(backlog) + 1, len(backlog) + 2, len(backlog) + 3]
    with inbox.stream(ACCOUNT, bound=2) as stream:
        await arrive(inbox, *new)  # taken at once up to its bound, before its first read
        assert (stream.held, stream.queued) == (2, 2)
        got = [await asyncio.wait_for(stream.get(), 5) for _ in range(2)]
        # What came new went back to the store, behind the backlog, and the bound holds.
        assert (stamps(got), stream.held, sorted(inbox._claims)) == (
            [1, 2],
            2,
            [m.id for m in got],
        )
        await stream.delivered(got)
        while len(got) < len(backlog) + len(new):
            got.append(await asyncio.wait_for(stream.get(), 5))
            await stream.delivered(got[-1:])
    assert stamps(got) == [*backlog, *new]
    assert await pending_stamps(inbox) == []
    assert inbox._claims == {}


async def test_stream_does_not_catch_up_on_what_a_poll_took(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT, bound=1) as stream:
        await arrive(inbox, 1, 2, 3)
        assert stamps(await inbox.take(ACCOUNT, 1)) == [2]
        one = await stream.get()
        await stream.delivered([one])
        three = await asyncio.wait_for(stream.get(), 5)
    assert stamps([one, three]) == [1, 3]


async def test_stream_does_not_get_what_a_poll_has_claimed(inbox: Inbox) -> None:
    await arrive(inbox, 1)
    batch = await inbox.claim(ACCOUNT)
    with inbox.stream(ACCOUNT) as stream:
        await asyncio.wait_for(_idle(stream), 5)
        # The same notification again (daemons may repeat it): stored once, still the poll's.
        await arrive(inbox, 1)
        await arrive(inbox, 2)
        assert stamps([await stream.get()]) == [2]
    assert stamps(batch.messages) == [1]


async def test_stream_closed_while_marking_does_not_release_what_it_delivers(
    inbox: Inbox,
) -> None:
    with inbox.stream(ACCOUNT) as stream:
        await arrive(inbox, 1)
        sent = await stream.get()
        delivering = asyncio.create_task(stream.delivered([sent]))
        await asyncio.sleep(0)
    assert await inbox.take(ACCOUNT) == []
    await delivering
    assert await pending_stamps(inbox) == []


async def test_stream_whose_delivery_is_cancelled_keeps_its_claims_until_the_mark_commits(
    inbox: Inbox,
) -> None:
    # The websocket ends while its delivered mark waits for the disk: the next client to
    # connect must not be sent the message again.
    gate = threading.Event()
    with inbox.stream(ACCOUNT) as stream:
        await arrive(inbox, 1)
        sent = await stream.get()
        blocker = inbox.store.submit(lambda conn: gate.wait(10))  # the writer is busy
        delivering = asyncio.create_task(stream.delivered([sent]))
        await asyncio.sleep(0)
        delivering.cancel()
        await asyncio.gather(delivering, return_exceptions=True)
    with inbox.stream(ACCOUNT) as next_stream:
        getting = asyncio.create_task(next_stream.get())
        try:
            for _ in range(20):  # every turn of the loop it could take to read the store
                await asyncio.sleep(0)
            assert not getting.done()
        finally:
            gate.set()
        await blocker
        await arrive(inbox, 2)
        assert stamps([await asyncio.wait_for(getting, 10)]) == [2]
    assert await pending_stamps(inbox) == [2]


async def test_stream_that_stopped_lets_the_next_stream_have_the_rest_in_order(
    inbox: Inbox,
) -> None:
    # A websocket that sent its max_messages stops taking while it waits for the client's
    # close; the client's next websocket gets what follows, oldest first.
    with inbox.stream(ACCOUNT) as first:
        await arrive(inbox, 1, 2, 3)
        sent = [await first.get(), await first.get()]
        first.stop()  # 3 was queued here, not sent: pending again
        await arrive(inbox, 4)
        with inbox.stream(ACCOUNT) as second:
            got = [await second.get(), await second.get()]
            await arrive(inbox, 5)
            got.append(await second.get())
            assert (stamps(got), first.queued, first.held) == ([3, 4, 5], 0, 2)
            await second.delivered(got)
        await first.delivered(sent)
    assert await pending_stamps(inbox) == []
    assert inbox._claims == {}


async def test_what_a_closing_stream_let_go_goes_to_the_open_one_before_newer_messages(
    inbox: Inbox,
) -> None:
    # A client reconnects before its old websocket is found dead: what the old one sent and
    # never saw confirmed goes to the new one, although it was claimed when the new one opened.
    with inbox.stream(ACCOUNT) as old:
        await arrive(inbox, 1)
        await old.get()  # sent to a client that is gone
        with inbox.stream(ACCOUNT) as new:
            await asyncio.wait_for(_idle(new), 5)
            await arrive(inbox, 2)  # to both
            old.close()
            got = [await asyncio.wait_for(new.get(), 5) for _ in range(2)]
            await new.delivered(got)
    assert stamps(got) == [1, 2]
    assert await pending_stamps(inbox) == []
    assert inbox._claims == {}


async def test_what_a_poll_gave_back_goes_to_an_open_stream_before_newer_messages(
    inbox: Inbox,
) -> None:
    await arrive(inbox, 1)
    batch = await inbox.claim(ACCOUNT)
    with inbox.stream(ACCOUNT) as stream:
        await asyncio.wait_for(_idle(stream), 5)
        await arrive(inbox, 2)
        batch.release()  # the poll's client left before it had the answer
        got = [await asyncio.wait_for(stream.get(), 5) for _ in range(2)]
        await stream.delivered(got)
    assert stamps(got) == [1, 2]
    assert await pending_stamps(inbox) == []
    assert inbox._claims == {}


async def test_message_whose_delivery_mark_failed_goes_to_an_open_stream(inbox: Inbox) -> None:
    await arrive(inbox, 1)
    batch = await inbox.claim(ACCOUNT)
    with inbox.stream(ACCOUNT) as stream:
        await asyncio.wait_for(_idle(stream), 5)
        await inbox.store.write(lambda conn: conn.execute("PRAGMA query_only = 1"))
        with pytest.raises(sqlite3.OperationalError):
            await batch.delivered()
        assert stamps([await asyncio.wait_for(stream.get(), 5)]) == [1]
        assert stream.held == 1


async def test_stream_whose_delivery_mark_failed_gets_the_message_again(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT) as stream:
        await arrive(inbox, 1)
        sent = await stream.get()  # the newest it has read: it reads it again all the same
        await inbox.store.write(lambda conn: conn.execute("PRAGMA query_only = 1"))
        with pytest.raises(sqlite3.OperationalError):
            await stream.delivered([sent])
        again = await asyncio.wait_for(stream.get(), 5)
        assert (stamps([again]), stream.held, inbox._claims) == ([1], 1, {sent.id: 1})


async def test_message_a_stream_sent_twice_and_delivered_at_once_leaves_no_claim(
    inbox: Inbox,
) -> None:
    with inbox.stream(ACCOUNT) as stream:
        await arrive(inbox, 1)
        sent = await stream.get()
        await inbox.store.write(lambda conn: conn.execute(REFUSE_MARKS))
        with pytest.raises(sqlite3.IntegrityError):
            await stream.delivered([sent])  # the mark fails once
        await inbox.store.write(lambda conn: conn.execute("DROP TRIGGER refuse"))
        again = await asyncio.wait_for(stream.get(), 5)  # sent a second time
        await stream.delivered([sent, again])  # the client confirms both frames together
        assert (stream.held, inbox._claims) == (0, {})
    assert await pending_stamps(inbox) == []


async def test_what_a_stream_that_stopped_had_queued_goes_to_an_open_stream(
    inbox: Inbox,
) -> None:
    with inbox.stream(ACCOUNT) as first:
        await arrive(inbox, 1, 2)
        sent = await first.get()  # 2 stays queued
        with inbox.stream(ACCOUNT) as second:
            await asyncio.wait_for(_idle(second), 5)  # 1 and 2 are first's: nothing to read
            first.stop()
            got = await asyncio.wait_for(second.get(), 5)
            assert (stamps([got]), first.held, second.held) == ([2], 1, 1)
            await second.delivered([got])
        await first.delivered([sent])
    assert await pending_stamps(inbox) == []
    assert inbox._claims == {}


async def test_stream_that_stopped_wakes_a_waiting_poll_for_what_it_had_queued(
    inbox: Inbox,
) -> None:
    with inbox.stream(ACCOUNT) as stream:
        await arrive(inbox, 1, 2)
        await stream.get()  # 1 sent, 2 queued
        poll = asyncio.create_task(inbox.poll(ACCOUNT, limit=None, timeout=10))
        await waiting(inbox)
        stream.stop()
        batch = await asyncio.wait_for(poll, 5)  # not its own timeout of 10
        assert (stamps(batch.messages), stream.held) == ([2], 1)


async def test_delivered_messages_send_no_stream_back_to_the_store(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with inbox.stream(ACCOUNT) as first, inbox.stream(ACCOUNT) as second:
        await asyncio.wait_for(_idle(first), 5)
        await asyncio.wait_for(_idle(second), 5)
        sizes = count_reads(inbox, monkeypatch)
        await arrive(inbox, 1, 2)
        await first.delivered([await first.get(), await first.get()])
        await second.delivered([await second.get(), await second.get()])  # the last claims
        await arrive(inbox, 3)
        got = [await asyncio.wait_for(stream.get(), 5) for stream in (first, second)]
    assert stamps(got) == [3, 3]
    assert sizes == []  # every message came live; none was read from the store


async def test_stream_that_stopped_holds_what_it_sent_until_it_closes(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT) as stream:
        await arrive(inbox, 1, 2)
        await stream.get()  # 1 sent, 2 queued
        stream.stop()
        assert stamps(await inbox.take(ACCOUNT)) == [2]  # 1 is still out, unconfirmed
    assert await pending_stamps(inbox) == [1]  # let go undelivered on close


async def test_stream_that_stopped_hands_out_nothing_more(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT) as stream:
        await arrive(inbox, 1, 2)
        await stream.get()
        stream.stop()
        await arrive(inbox, 3)
        getting = asyncio.create_task(stream.get())
        for _ in range(20):  # every turn of the loop it could take to read the store
            await asyncio.sleep(0)
        assert not getting.done()
        getting.cancel()
        assert (stamps(await inbox.take(ACCOUNT)), stream.held, stream.queued) == ([2, 3], 1, 0)


async def test_stream_delivered_for_a_message_it_does_not_hold_changes_nothing(
    inbox: Inbox,
) -> None:
    await arrive(inbox, 1)
    [stored] = await inbox.store.pending(ACCOUNT)
    with inbox.stream(ACCOUNT) as stream:
        await stream.delivered([StoredMessage(stored.id + 1, ACCOUNT, {})])
        assert stamps([await stream.get()]) == [1]
    assert await pending_stamps(inbox) == [1]


async def test_closed_stream_takes_no_new_messages(inbox: Inbox) -> None:
    with inbox.stream(ACCOUNT) as stream:
        pass
    await arrive(inbox, 1)
    assert stream.held == 0
    assert inbox._streams == {}
    assert stamps(await inbox.take(ACCOUNT)) == [1]


async def test_notifications_other_than_receive_are_ignored(
    inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    await inbox.on_notification("receiveSync", message(1))
    await inbox.on_notification("receive", {"envelope": {"secret": "text"}})
    await inbox.on_notification("receive", ["not", "an", "object"])
    assert await pending_stamps(inbox) == []
    # Only the kind is logged, never what a message says.
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "ignoring a receive notification without an account (dict)"),
        ("WARNING", "ignoring a receive notification without an account (list)"),
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (message(1), message(1)),
        ({"subscription": 0, "result": message(1)}, message(1)),
        ({"subscription": 0, "result": "x"}, None),
        ({"account": 5}, None),
        (None, None),
    ],
    ids=["auto", "subscribed", "bad-result", "bad-account", "none"],
)
def test_message_of_reads_both_notification_forms(params: Any, expected: Any) -> None:
    assert message_of(params) == expected


async def test_subscriber_subscribes_on_connect_and_logs_a_refusal(
    inbox: Inbox, line_server: LineServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = RpcClient(UnixTransport(line_server.path), timeout=5)
    client.add_connect_hook(inbox.subscriber(client))
    await client.start()
    try:
        peer = await line_server.next_peer()
        request = await peer.recv()
        assert (request["method"], request.get("params")) == ("subscribeReceive", None)
        await peer.send(
            {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -1, "message": "no"}}
        )
        while not caplog.records:
            await asyncio.sleep(0.01)
    finally:
        await client.close()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "subscribeReceive failed, no messages will arrive: no")
    ]
