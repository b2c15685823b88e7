"""A restarted service claims each feed it polled before in one statement: its
first tick claims every feed at once (all due after a downtime), before the
first request goes out. What is won stays the same: a feed due is won, one
leased is not, one new to the store is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.store.sql import SqlStore
from tests.store.factories import statements

T0 = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
FEEDS = [f"https://news.example.org/{n}.rss" for n in range(5)]
LEASE = timedelta(seconds=20)
WRITES = ("INSERT", "UPDATE")


async def claim_due(store: SqlStore, urls: list[str], now: datetime) -> list[str]:
    return [url for url in urls if await store.claim_feed(url, now, now + LEASE)]


async def test_a_restart_claims_each_known_feed_in_one_statement(storage_url: str) -> None:
    first = SqlStore(storage_url)
    await first.open()
    try:
        await first.due_feeds(FEEDS, T0)
        assert await claim_due(first, FEEDS, T0) == FEEDS  # new: inserted
    finally:
        await first.close()

    later = T0 + timedelta(minutes=5)  # every lease is over: all due
    restarted = SqlStore(storage_url)
    await restarted.open()
    try:
        due = [
            d.url for d in await restarted.due_feeds([*FEEDS, "https://new.example.org/rss"], later)
        ]
        with statements(restarted, WRITES) as ran:
            assert await claim_due(restarted, due, later) == due
        assert len(ran) == len(due)  # the new feed too: its row inserted at once
        # leased now: not won again, by either statement
        with statements(restarted, WRITES) as ran:
            assert await claim_due(restarted, FEEDS, later) == []
        assert len(ran) == 2 * len(FEEDS)
    finally:
        await restarted.close()
