"""The feeds the service polls follow the store: a feed added by another
process (the CLI, another worker) is scheduled once the book reads the store
again, every few seconds; a removed one is no longer scheduled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import Feed
from monitor.core.feeds import ManagedFeed
from monitor.pipeline.feedbook import REFRESH_EVERY, FeedBook
from monitor.pipeline.scheduling import Scheduling
from monitor.store import Store, open_store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CONFIG = Feed(url="http://127.0.0.1:8000/config.rss", name="Config", interval=60.0)
ADDED = ManagedFeed("http://127.0.0.1:8000/added.rss", "Added", None, NOW)


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    """The service's store and a command's, on one database."""
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    service, command = await open_store(url), await open_store(url)
    yield service, command
    await service.close()
    await command.close()


async def scheduled(scheduling: Scheduling) -> list[str]:
    return sorted(request.url for request in await scheduling.due())


async def test_a_feed_added_elsewhere_is_scheduled_within_seconds_and_dropped_once_removed(
    stores: tuple[Store, Store],
) -> None:
    service, command = stores
    clock, now = Monotonic(), [NOW]
    book = FeedBook([CONFIG], service, default_interval=300.0, monotonic=clock)
    scheduling = Scheduling(service, book, 10.0, lambda: now[0])
    assert await scheduled(scheduling) == [CONFIG.url]

    await command.add_managed_feed(ADDED)
    now[0] += timedelta(minutes=5)  # past every claim's lease: all due again
    assert await scheduled(scheduling) == [CONFIG.url]  # the store was read a moment ago
    clock.now += REFRESH_EVERY
    now[0] += timedelta(minutes=5)
    assert await scheduled(scheduling) == [ADDED.url, CONFIG.url]
    feed = book[ADDED.url]
    assert (feed.name, feed.interval, feed.pinned) == ("Added", 300.0, False)

    await command.remove_managed_feed(ADDED.url)
    now[0] += timedelta(minutes=5)
    clock.now += REFRESH_EVERY
    assert await scheduled(scheduling) == [CONFIG.url]  # the removed one is not
    assert ADDED.url not in book


async def test_refresh_reads_the_store_at_once(stores: tuple[Store, Store]) -> None:
    service, command = stores
    book = FeedBook([CONFIG], service, monotonic=Monotonic())
    await book.refresh()
    await command.add_managed_feed(ManagedFeed(ADDED.url, None, 30.0, NOW))
    assert ADDED.url not in book
    await book.refresh()  # what /api/feeds does after an add
    assert list(book) == [CONFIG.url, ADDED.url]
    assert (book[ADDED.url].interval, book[ADDED.url].pinned) == (30.0, True)


async def test_a_worker_handed_a_poll_of_a_feed_it_does_not_know_reads_the_store(
    stores: tuple[Store, Store],
) -> None:
    service, command = stores
    book = FeedBook([CONFIG], service, monotonic=Monotonic())
    await book.refresh()
    await command.add_managed_feed(ADDED)
    assert await book.find(ADDED.url) is None  # read just now: no store read for every miss
    book.monotonic.now += 1.0  # type: ignore[attr-defined]
    found = await book.find(ADDED.url)
    assert found is not None and found.url == ADDED.url


async def test_a_config_feed_wins_over_a_stored_one_with_its_url(
    stores: tuple[Store, Store],
) -> None:
    service, command = stores
    await command.add_managed_feed(ManagedFeed(CONFIG.url, "Stored", 5.0, NOW))
    book = FeedBook([CONFIG], service, monotonic=Monotonic())
    await book.refresh()
    assert list(book) == [CONFIG.url] and book[CONFIG.url] == CONFIG
