"""Feeds added at run time are kept in the store, on both backends, and every
store on the database (another worker, a CLI command) sees them."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.core.feeds import ManagedFeed
from monitor.store import Store
from monitor.store.sql import SqlStore

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BLOG = ManagedFeed("https://blog.example.org/atom.xml", "Blog", None, AT)
WIRE = ManagedFeed("https://wire.example.net/rss", None, 300.0, AT)


async def test_added_feeds_are_listed_by_url_with_their_name_and_interval(store: Store) -> None:
    assert await store.managed_feeds() == []
    assert await store.add_managed_feed(WIRE)
    assert await store.add_managed_feed(BLOG)
    assert await store.managed_feeds() == [BLOG, WIRE]


async def test_a_feed_added_twice_is_kept_once_as_first_added(store: Store) -> None:
    assert await store.add_managed_feed(BLOG)
    again = ManagedFeed(BLOG.url, "Other name", 60.0, AT)
    assert not await store.add_managed_feed(again)
    assert await store.managed_feeds() == [BLOG]


async def test_removing_a_feed_forgets_it_and_removing_it_again_says_so(store: Store) -> None:
    await store.add_managed_feed(BLOG)
    await store.add_managed_feed(WIRE)
    assert await store.remove_managed_feed(BLOG.url)
    assert not await store.remove_managed_feed(BLOG.url)
    assert not await store.remove_managed_feed("https://never.example.org/")
    assert await store.managed_feeds() == [WIRE]


async def test_another_worker_sees_a_feed_added_by_one(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    a, b = two_stores
    assert await a.add_managed_feed(WIRE)
    assert not await b.add_managed_feed(WIRE)
    assert await b.managed_feeds() == [WIRE]
    assert await b.remove_managed_feed(WIRE.url)
    assert await a.managed_feeds() == []
