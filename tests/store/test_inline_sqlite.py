"""SQLite's statements run on the event loop's thread (monitor.store.inline):
two stores of one process on one file must never wait on each other inside
SQLite, where the loop would stop with them until the busy timeout."""

from __future__ import annotations

import asyncio
from pathlib import Path

from monitor.store.sql import SqlStore
from tests.store.factories import T0, alert, item


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
