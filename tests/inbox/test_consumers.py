"""Named consumers on the real SQLite inbox: each reads every message of its account in arrival
order, on its own, from a position that survives restarts and holds messages back from
retention until it has them."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from signal_rest.inbox import consumers as consumers_module
from signal_rest.inbox.consumers import ALL, ConsumerState
from signal_rest.inbox.delivery import Inbox
from signal_rest.inbox.named_websocket import CursorFeed
from signal_rest.inbox.store import InboxStore, StoredMessage
from tests.inbox.test_delivery import ACCOUNT, OTHER, arrive, message, pending_stamps, stamps

HOUR = 3600.0


async def reopened(inbox: Inbox) -> Inbox:
    """The same inbox after a restart of the service (which stores the acked positions)."""
    await inbox.consumers.flush()
    await inbox.store.close()
    store = InboxStore(inbox.store.path)
    await store.open()
    return Inbox(store)


async def stored_rows(inbox: Inbox) -> list[tuple[object, ...]]:
    """The consumers' rows once the positions acked so far are stored."""
    await inbox.consumers.flush()
    with sqlite3.connect(inbox.store.path) as conn:
        return conn.execute(
            "SELECT name, account, kind, position, attempts, retry_at, failing_since "
            "FROM consumers ORDER BY name, account"
        ).fetchall()


async def all_ids(inbox: Inbox) -> list[int]:
    return [m.id for m in await inbox.store.after(ALL, 0)]


async def test_each_named_consumer_gets_every_message_in_order_on_its_own(inbox: Inbox) -> None:
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    bot = await inbox.consumers.open("bot", ACCOUNT, kind="poll")
    await arrive(inbox, 1, 2, 3)
    await arrive(inbox, 9, account=OTHER)

    assert stamps(await ha.next()) == [1, 2, 3]
    assert stamps(await inbox.take(ACCOUNT)) == [1, 2, 3]  # the unnamed clients' share
    assert stamps(await bot.next(limit=2)) == [1, 2]
    assert stamps(await bot.next()) == [3]
    assert await ha.next(timeout=0) == []


async def test_a_new_consumer_starts_with_what_no_unnamed_client_took(inbox: Inbox) -> None:
    await arrive(inbox, 1, 2, 3)
    assert stamps(await inbox.take(ACCOUNT, limit=1)) == [1]
    late = await inbox.consumers.open("late", ACCOUNT, kind="poll")
    assert stamps(await late.next()) == [2, 3]

    await inbox.take(ACCOUNT)
    later = await inbox.consumers.open("later", ACCOUNT, kind="poll")
    assert await later.next(timeout=0) == []
    await arrive(inbox, 4)
    assert stamps(await later.next()) == [4]


async def test_the_position_survives_a_restart_and_the_read_position_does_not(
    inbox: Inbox,
) -> None:
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    await arrive(inbox, 1, 2, 3)
    first, _, _ = await ha.next()
    await ha.ack(first.id)

    inbox = await reopened(inbox)
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    assert (ha.position, ha.read_position) == (first.id, first.id)
    assert stamps(await ha.next()) == [2, 3]
    assert await stored_rows(inbox) == [("ha", ACCOUNT, "websocket", first.id, 0, None, None)]
    await inbox.store.close()


# A service that acks, waits for the ack's commit and is then killed (`kill -9`).
_ACK_THEN_DIE = """
import asyncio, os, signal, sys
from pathlib import Path
from signal_rest.inbox.delivery import Inbox
from signal_rest.inbox.store import InboxStore
from tests.inbox.test_delivery import ACCOUNT, arrive

async def main() -> None:
    store = InboxStore(Path(sys.argv[1]))
    await store.open()
    inbox = Inbox(store)
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    await arrive(inbox, 1, 2, 3)
    first, second, _ = await ha.next()
    await ha.ack(second.id)
    await inbox.consumers.flush()
    print(second.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


async def test_an_ack_once_committed_survives_a_kill_of_the_service(tmp_path: Path) -> None:
    # Acks are committed without waiting for a sync to disk: a dead process loses none of
    # them (only a machine crash could set a position back).
    path = tmp_path / "inbox.sqlite3"
    killed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _ACK_THEN_DIE,
        str(path),
        stdout=asyncio.subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    out, _ = await asyncio.wait_for(killed.communicate(), 60)
    assert killed.returncode == -signal.SIGKILL
    acked = int(out)

    store = InboxStore(path)
    await store.open()
    inbox = Inbox(store)
    try:
        ha = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
        assert ha.position == acked
        assert stamps(await ha.next()) == [3]
    finally:
        await store.close()


async def test_next_waits_for_the_next_message_and_gives_up_on_time_or_when_gone(
    inbox: Inbox,
) -> None:
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="sse")
    waiting = asyncio.create_task(ha.next())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await arrive(inbox, 7, account=OTHER)  # another account's message wakes nobody here
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await arrive(inbox, 8)
    assert stamps(await asyncio.wait_for(waiting, 5)) == [8]

    assert await ha.next(timeout=0.05) == []
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiting = asyncio.create_task(ha.next(gone=gone))
    await asyncio.sleep(0.05)
    gone.set_result(None)
    assert await asyncio.wait_for(waiting, 5) == []


async def test_acks_never_move_back_nor_past_the_newest_message(inbox: Inbox) -> None:
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="poll")
    await arrive(inbox, 1, 2)
    one, two = await ha.next()
    await ha.ack(two.id)
    await ha.ack(one.id)
    assert ha.position == two.id
    await ha.ack(two.id + 1000)
    assert ha.position == two.id
    assert (await stored_rows(inbox))[0][3] == two.id


async def test_rewind_hands_out_again_what_was_not_acked(inbox: Inbox) -> None:
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    await arrive(inbox, 1, 2, 3)
    one, _, _ = await ha.next()
    await ha.ack(one.id)
    assert await ha.next(timeout=0) == []
    ha.rewind()
    assert stamps(await ha.next()) == [2, 3]


async def test_a_consumer_of_every_account_reads_them_in_arrival_order(inbox: Inbox) -> None:
    everything = await inbox.consumers.open("sse", ALL, kind="sse")
    await arrive(inbox, 1)
    await arrive(inbox, 2, account=OTHER)
    await arrive(inbox, 3)
    found = await everything.next()
    assert [(m.account, m.message["envelope"]["timestamp"]) for m in found] == [
        (ACCOUNT, 1),
        (OTHER, 2),
        (ACCOUNT, 3),
    ]


async def test_an_unnamed_cursor_starts_live_or_after_an_id_and_is_not_stored(
    inbox: Inbox,
) -> None:
    await arrive(inbox, 1, 2)
    live = await inbox.consumers.open(None, ACCOUNT, kind="sse")
    assert await live.next(timeout=0) == []
    first = (await inbox.store.after(ACCOUNT, 0))[0]
    resumed = await inbox.consumers.open(None, ACCOUNT, kind="sse", after=first.id)
    assert stamps(await resumed.next()) == [2]
    await resumed.ack(first.id + 1)
    assert await stored_rows(inbox) == []
    assert await inbox.consumers.states(stale_after=HOUR) == []


async def test_a_client_that_says_what_it_has_reads_from_there(inbox: Inbox) -> None:
    await inbox.consumers.open("sse", ACCOUNT, kind="sse")
    await arrive(inbox, 1, 2, 3)
    first = (await inbox.store.after(ACCOUNT, 0))[0]
    again = await inbox.consumers.open("sse", ACCOUNT, kind="sse", after=first.id)
    assert stamps(await again.next()) == [2, 3]
    assert again.position == first.id - 1  # stored: only an ack moves it


async def test_webhook_retry_state_is_kept_and_an_ack_clears_it(inbox: Inbox) -> None:
    hook = await inbox.consumers.open("hook", ACCOUNT, kind="webhook")
    await arrive(inbox, 1)
    [one] = await hook.next()
    await hook.record_failure(3, 1234.5, 1000.0)
    inbox = await reopened(inbox)
    hook = await inbox.consumers.open("hook", ACCOUNT, kind="webhook")
    assert (hook.attempts, hook.retry_at, hook.failing_since) == (3, 1234.5, 1000.0)
    await hook.ack(one.id)
    assert (hook.attempts, hook.retry_at, hook.failing_since) == (0, None, None)
    assert await stored_rows(inbox) == [("hook", ACCOUNT, "webhook", one.id, 0, None, None)]
    await inbox.store.close()


async def test_listeners_hear_of_each_message_once_it_is_stored(inbox: Inbox) -> None:
    heard: list[StoredMessage] = []

    def listener(stored: StoredMessage) -> None:
        heard.append(stored)

    stop = inbox.consumers.listen(listener)
    await arrive(inbox, 1)
    await arrive(inbox, 1)  # the same notification again: stored once, heard once
    stop()
    await arrive(inbox, 2)
    assert [m.id for m in heard] == (await all_ids(inbox))[:1]


async def test_states_show_position_lag_and_whether_a_consumer_is_connected(
    inbox: Inbox,
) -> None:
    await inbox.consumers.open("bot", ACCOUNT, kind="poll")
    async with inbox.consumers.connected("ha", ACCOUNT, kind="websocket") as ha:
        await arrive(inbox, 1, 2, 3)
        first = (await ha.next(limit=1))[0]
        await ha.ack(first.id)
        states = await inbox.consumers.states(stale_after=HOUR)
        assert [(s.name, s.kind, s.position, s.lag, s.stale, s.connected) for s in states] == [
            ("bot", "poll", first.id - 1, 3, False, False),
            ("ha", "websocket", first.id, 2, False, True),
        ]
        # Connected consumers are never stale, however long ago their row was written.
        states = await inbox.consumers.states(stale_after=-1)
        assert [(s.name, s.stale) for s in states] == [("bot", True), ("ha", False)]
    assert all(isinstance(s, ConsumerState) for s in states)


async def test_a_retired_account_leaves_its_consumers_nothing_to_read(inbox: Inbox) -> None:
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    await arrive(inbox, 1, 2)
    await inbox.consumers.retire(ACCOUNT)
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    assert await ha.next(timeout=0) == []


async def age(inbox: Inbox, hours: float) -> None:
    """Every message arrived (and was taken, if it was) `hours` ago."""
    then = time.time() - hours * HOUR

    def update(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE messages SET received_at = ?", (then,))
        conn.execute("UPDATE messages SET delivered_at = ? WHERE delivered_at IS NOT NULL", (then,))

    await inbox.store.write(update)


async def purge(inbox: Inbox, *, retention: float = 1.0, expiry: float = 100.0) -> int:
    return await inbox.consumers.forget_old(retention=retention * HOUR, expiry=expiry * HOUR)


async def test_retention_waits_for_every_named_consumer(inbox: Inbox) -> None:
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    await arrive(inbox, 1, 2)
    await inbox.take(ACCOUNT)
    await age(inbox, 2)
    one, _ = await ha.next()
    await ha.ack(one.id)
    assert await purge(inbox) == 1
    assert stamps(await inbox.store.after(ACCOUNT, 0)) == [2]


async def test_retention_keeps_what_was_taken_recently(inbox: Inbox) -> None:
    await arrive(inbox, 1)
    await inbox.take(ACCOUNT)
    assert await purge(inbox) == 0
    await age(inbox, 2)
    assert await purge(inbox) == 1


async def test_a_consumer_not_seen_for_long_holds_nothing_back(inbox: Inbox) -> None:
    await inbox.consumers.open("gone", ACCOUNT, kind="poll")
    await arrive(inbox, 1)
    await inbox.take(ACCOUNT)
    await age(inbox, 2)
    assert await purge(inbox, expiry=100) == 0
    assert await purge(inbox, expiry=0) == 1


async def test_pending_messages_wait_for_unnamed_clients_while_they_come(inbox: Inbox) -> None:
    # Before named consumers: pending messages are kept however old.
    await arrive(inbox, 1)
    await age(inbox, 2)
    assert await purge(inbox) == 0
    # Unnamed clients seen lately keep them too.
    await inbox.consumers.seen_unnamed(ACCOUNT)
    assert await purge(inbox) == 0
    # Unnamed clients gone for longer than the expiry: only retention counts.
    assert await purge(inbox, expiry=0) == 1


async def test_an_account_read_only_by_named_consumers_is_not_kept_for_unnamed_clients(
    inbox: Inbox,
) -> None:
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    await arrive(inbox, 1, 2)
    await age(inbox, 2)
    found = await ha.next()
    await ha.ack(found[-1].id)
    assert await purge(inbox) == 2
    assert await pending_stamps(inbox) == []


async def test_a_websocket_feed_has_at_most_its_bound_out_and_acks_only_a_confirmed_run(
    inbox: Inbox,
) -> None:
    cursor = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    await arrive(inbox, 1, 2, 3)
    feed = CursorFeed(cursor, bound=2)
    one = await feed.get()
    assert feed.queued == 1  # read two, handed out one
    two = await feed.get()
    third = asyncio.ensure_future(feed.get())
    for _ in range(20):  # every turn of the loop it could take to read the third
        await asyncio.sleep(0)
    assert not third.done()  # two are out and not confirmed: no room

    await feed.delivered([two])  # confirmed, but the first is not yet: still no room
    for _ in range(20):
        await asyncio.sleep(0)
    assert (third.done(), cursor.position) == (False, one.id - 1)
    await feed.delivered([one])
    three = await third
    assert (stamps([one, two, three]), feed.queued, cursor.position) == ([1, 2, 3], 0, two.id)
    await feed.delivered([three])
    assert cursor.position == three.id

    single = CursorFeed(await inbox.consumers.open("bot", ACCOUNT, kind="websocket"), bound=0)
    await single.get()
    assert (single.bound, single.queued) == (1, 0)


async def test_consumers_behind_the_messages_kept_in_memory_read_the_rest_from_disk(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers_module, "RECENT", 2)
    old = await inbox.consumers.open("old", ACCOUNT, kind="poll")
    # Stored by an earlier run of the service: on disk only.
    for ts in (1, 2):
        await inbox.store.add(ACCOUNT, message(ts))
    await arrive(inbox, 3, 4, 5, 6, 7, 8)  # the oldest of these leave memory again
    live = await inbox.consumers.open(None, ACCOUNT, kind="sse", after=(await all_ids(inbox))[5])
    assert stamps(await old.next(limit=3)) == [1, 2, 3]
    assert stamps(await old.next()) == [4, 5, 6, 7, 8]
    assert stamps(await live.next()) == [7, 8]
    await arrive(inbox, 9)
    await arrive(inbox, 10, account=OTHER)
    assert stamps(await old.next()) == [9]
    assert stamps(await live.next()) == [9]


async def test_a_forgotten_consumer_starts_anew_and_others_keep_their_place(inbox: Inbox) -> None:
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    ha_other = await inbox.consumers.open("ha", OTHER, kind="websocket")
    bot = await inbox.consumers.open("bot", ACCOUNT, kind="websocket")
    await arrive(inbox, 1, 2)
    await arrive(inbox, 3, account=OTHER)
    for cursor in (ha, ha_other, bot):
        found = await cursor.next()
        await cursor.ack(found[-1].id)
    assert stamps(await inbox.take(ACCOUNT)) == [1, 2]  # nothing pending for unnamed clients

    assert await inbox.consumers.forget("ha", (ACCOUNT,)) == 1
    assert await inbox.consumers.forget("nobody") == 0
    await arrive(inbox, 4)
    ha = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    assert (stamps(await ha.next()), ha.position) == ([4], (await all_ids(inbox))[-1] - 1)
    ha_other = await inbox.consumers.open("ha", OTHER, kind="websocket")
    assert await ha_other.next(timeout=0) == []  # still where it was
    bot = await inbox.consumers.open("bot", ACCOUNT, kind="websocket")
    assert stamps(await bot.next()) == [4]
    assert await inbox.consumers.forget("ha") == 2
    assert [row[:2] for row in await stored_rows(inbox)] == [("bot", ACCOUNT)]


async def test_two_clients_of_one_consumer_keep_the_furthest_ack(inbox: Inbox) -> None:
    first = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    second = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    await arrive(inbox, 1, 2, 3)
    one, _, three = await first.next()
    await first.ack(three.id)
    await second.next()
    await second.ack(one.id)  # behind the other: the consumer stays where the first got
    again = await inbox.consumers.open("ha", ACCOUNT, kind="websocket")
    assert again.position == three.id
    assert (await stored_rows(inbox))[0][3] == three.id
