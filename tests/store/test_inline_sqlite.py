"""SQLite's statements run on the event loop's thread (monitor.store.inline):
two stores of one process on one file must never wait on each other inside
SQLite, where the loop would stop with them until the busy timeout."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitor.store.sql import SqlStore
from tests.store.factories import FEED, T0, alert, item


async def test_a_write_waiting_on_the_loop_lets_another_store_on_its_file_write_after_it(
    db_path: Path,
) -> None:
    first, second = SqlStore(f"sqlite:///{db_path}"), SqlStore(f"sqlite:///{db_path}")
    await first.open()
    await second.open()
    held, queued = item("guid:held"), item("guid:queued")
    try:

        async def hold_the_write_lock() -> dict[str, int]:
            async with first.serialized() as unit:
                ids = await unit.record_item(held, [alert(held, "mail")], T0)
                await asyncio.sleep(0.05)  # the loop runs the other store meanwhile
                return ids

        held_ids, queued_ids = await asyncio.gather(
            hold_the_write_lock(), second.record_item(queued, [alert(queued, "mail")], T0)
        )
        # both recorded (not "database is locked" after the busy timeout)
        assert list(held_ids) == list(queued_ids) == ["mail"]
        assert await first.unsettled_for(queued.fingerprint)
        assert await second.unsettled_for(held.fingerprint)
    finally:
        await first.close()
        await second.close()


async def test_the_loop_keeps_running_while_a_bulk_write_is_in_sqlite(db_path: Path) -> None:
    # thousands of rows take SQLite milliseconds: a poll's fetches, timers and
    # alerts go on meanwhile (the rows go to the connection's thread)
    store = SqlStore(f"sqlite:///{db_path}")
    await store.open()
    quiet = [item(f"guid:quiet-{n}", f"Quiet story number {n}") for n in range(5000)]
    writing = True
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while writing:
            turns += 1
            await asyncio.sleep(0)

    try:
        ticker = asyncio.create_task(other_work())
        await asyncio.sleep(0)  # the ticker is running
        turns = 0
        await store.record_quiet(quiet, T0)
        writing = False
        await ticker
        assert turns >= 100  # inline, the loop would not turn until the write ended
        fingerprints = [it.fingerprint for it in quiet]
        assert await store.carried(FEED, fingerprints, T0, T0) == set()  # all recorded
    finally:
        await store.close()


async def test_a_bulk_write_cancelled_midway_leaves_the_store_whole_and_usable(
    db_path: Path,
) -> None:
    # a stop that cancels the match stage while SQLite writes its rows on the
    # worker thread: the transaction ends there, after them, and is rolled back
    store = SqlStore(f"sqlite:///{db_path}")
    await store.open()
    quiet = [item(f"guid:cancelled-{n}", f"Cancelled story number {n}") for n in range(20_000)]
    try:
        writing = asyncio.create_task(store.record_quiet(quiet, T0))
        await asyncio.sleep(0)  # it runs up to its first wait: the rows in SQLite
        assert not writing.done()
        writing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writing
        fingerprints = [it.fingerprint for it in quiet]
        assert await store.carried(FEED, fingerprints, T0, T0) == set(fingerprints)  # none kept
        after = [item(f"guid:after-{n}", f"A later story number {n}") for n in range(500)]
        await store.record_quiet(after, T0)
        assert await store.carried(FEED, [it.fingerprint for it in after], T0, T0) == set()
    finally:
        await store.close()
