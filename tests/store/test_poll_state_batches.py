"""The per-poll store operations of many polls at once (a tick's claims, the
state reads and saves of the polls under way) run as a few statements for all
of them, and decide exactly as one at a time would: a due feed is won once, a
leased one not, a new one is; each poll reads its own state, the last save of
a feed stands. On SQLite and PostgreSQL, and between two workers."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.core.feeds import FeedState
from monitor.store.sql import SqlStore
from tests.store.factories import statements

T0 = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
LEASE = timedelta(seconds=20)
FEEDS = [f"https://news.example.org/{n}.rss" for n in range(300)]


async def claim_at_once(store: SqlStore, urls: list[str], now: datetime) -> list[str]:
    won = await asyncio.gather(*(store.claim_feed(url, now, now + LEASE) for url in urls))
    return [url for url, ok in zip(urls, won, strict=True) if ok]


async def polled(store: SqlStore, urls: list[str], at: datetime) -> None:
    await asyncio.gather(
        *(
            store.save_feed_state(FeedState(url=url, last_polled_at=at, next_poll_at=at))
            for url in urls
        )
    )


async def test_a_tick_claims_its_due_feeds_in_one_statement(storage_url: str) -> None:
    store = SqlStore(storage_url)
    await store.open()
    try:
        await store.due_feeds(FEEDS, T0)
        assert await claim_at_once(store, FEEDS, T0) == FEEDS  # new: each row inserted
        await polled(store, FEEDS[:200], T0 + timedelta(seconds=30))
        later = T0 + timedelta(minutes=1)  # all due: 200 polled, 100 whose leases ran out
        new = "https://new.example.org/rss"
        with statements(store) as ran:
            won = await claim_at_once(store, [*FEEDS, new, FEEDS[0]], later)
        assert won == [*FEEDS, new]  # FEEDS[0] asked for twice: won once
        assert len(ran) == 2, ran  # the known feeds in one update, the new one's insert
        with statements(store) as ran:  # all leased now: none won
            assert await claim_at_once(store, FEEDS[:50], later) == []
        assert len(ran) == 1 + 50  # the update, then each feed's insert decides
    finally:
        await store.close()


async def test_two_workers_claiming_the_same_feeds_at_once_win_each_once(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    a, b = two_stores
    for store in (a, b):
        await store.due_feeds(FEEDS, T0)
    await polled(a, FEEDS, T0)  # rows for every feed, due at T0
    won_a, won_b = await asyncio.gather(
        claim_at_once(a, FEEDS, T0 + timedelta(seconds=1)),
        claim_at_once(b, list(reversed(FEEDS)), T0 + timedelta(seconds=1)),
    )
    assert sorted(won_a + won_b) == sorted(FEEDS)  # every feed, none twice


async def test_states_read_and_saved_at_once_are_each_polls_own(storage_url: str) -> None:
    store = SqlStore(storage_url)
    await store.open()
    try:
        states = [
            FeedState(url=url, etag=f'"{n}"', failures=n % 3, last_polled_at=T0)
            for n, url in enumerate(FEEDS)
        ]
        with statements(store) as ran:
            await asyncio.gather(*(store.save_feed_state(state) for state in states))
        assert len(ran) == 1, ran  # one execution of the upsert for all rows
        with statements(store) as ran:
            read = await asyncio.gather(
                *(store.feed_state(url) for url in [*FEEDS, "https://none.example.org/"])
            )
        assert read == [*states, None]
        assert len(ran) == 1, ran  # one query (300 rows: one chunk)

        # saved twice at once: the later save stands, as one after the other
        first, second = replace(states[0], etag='"a"'), replace(states[0], etag='"b"')
        await asyncio.gather(store.save_feed_state(first), store.save_feed_state(second))
        assert await store.feed_state(FEEDS[0]) == second
    finally:
        await store.close()
