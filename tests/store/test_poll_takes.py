"""A claimed poll is taken once (Store.take_poll): Kafka may hand one poll request
to a second worker while the first still polls (a rebalance hands over what
was not yet committed), and only one of them may fetch the feed. On SQLite and
PostgreSQL, and between two workers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from monitor.core.feeds import FeedState
from monitor.store.sql import SqlStore

T0 = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
LEASE = timedelta(seconds=20)
FEEDS = [f"https://news.example.org/{n}.rss" for n in range(100)]


async def claimed(store: SqlStore, urls: list[str], now: datetime) -> None:
    won = await asyncio.gather(*(store.claim_feed(url, now, now + LEASE) for url in urls))
    assert all(won)


async def taken(store: SqlStore, urls: list[str], until: datetime) -> list[str]:
    took = await asyncio.gather(*(store.take_poll(url, until) for url in urls))
    return [url for url, ok in zip(urls, took, strict=True) if ok]


async def test_two_workers_handed_the_same_requests_take_each_poll_once(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    a, b = two_stores
    await claimed(a, FEEDS, T0)
    took_a, took_b = await asyncio.gather(
        taken(a, FEEDS, T0 + LEASE), taken(b, list(reversed(FEEDS)), T0 + LEASE)
    )
    assert sorted(took_a + took_b) == sorted(FEEDS)  # every poll, none twice
    assert await taken(a, FEEDS, T0 + LEASE) == []  # handed out again later: still taken


async def test_a_request_of_an_older_claim_is_not_taken(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    a, b = two_stores
    feed = FEEDS[0]
    await claimed(a, [feed], T0)
    # the request sat in the lane past its lease; the scheduler claimed the feed again
    await claimed(a, [feed], T0 + LEASE + timedelta(seconds=1))
    assert await b.take_poll(feed, T0 + LEASE) is False
    assert await b.take_poll(feed, T0 + 2 * LEASE + timedelta(seconds=1)) is True


async def test_a_taken_poll_keeps_its_lease_so_a_lost_worker_delays_it_only_that_long(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    a, b = two_stores
    feed = FEEDS[0]
    await a.save_feed_state(FeedState(url=feed, last_polled_at=T0, next_poll_at=T0))
    await claimed(a, [feed], T0)
    assert await a.take_poll(feed, T0 + LEASE)  # ...and the worker dies mid-poll
    assert await b.due_feeds([feed], T0 + LEASE - timedelta(seconds=1)) == []
    [due] = await b.due_feeds([feed], T0 + LEASE + timedelta(seconds=1))
    assert due.url == feed
    assert await b.claim_feed(feed, T0 + LEASE + timedelta(seconds=1), T0 + 2 * LEASE)
