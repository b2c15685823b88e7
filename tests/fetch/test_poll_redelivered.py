"""On Kafka a poll request may come again after a rebalance: the partition's new
owner is handed what the last one had not committed. When such a stale request
(of a claim another worker already took) is being handled at the moment the
request of the feed's new claim arrives, the new one must still be polled:
dropped, its claim's lease kept the feed unpolled until it ran out (a worker
that took over from a stopped one polled nothing for the whole lease)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from monitor.config import Feed
from monitor.core.health import HealthPolicy
from monitor.core.items import Item
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.notify.dispatch import Dispatcher
from monitor.pipeline.fetching import Fetching
from monitor.pipeline.scheduling import PollRequest
from monitor.store import open_store
from tests.feedserver import FeedServer, rss

T0 = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=10)
STORY = {"title": "Talks resume", "link": "https://news.example.org/talks", "guid": "w-1"}


@pytest.fixture(scope="module")
def parser() -> Iterator[FeedParser]:
    with FeedParser(max_workers=1, thread=True) as p:
        yield p


async def test_a_new_claims_request_is_polled_while_a_stale_one_is_handled(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser, tmp_path: Path
) -> None:
    server.set_feed("/world.rss", rss([STORY]))
    url = server.url("/world.rss")
    store = await open_store(f"sqlite:///{tmp_path / 'newsmon.db'}")
    now = T0
    fetching = Fetching(
        store,
        {url: Feed(url=url, interval=1.0, pinned=True)},
        fetcher,
        parser,
        cast(Dispatcher, None),  # no change of health to tell here
        HealthPolicy(),
        lambda: now,
    )
    sent: list[str] = []

    async def send(items: Sequence[Item]) -> None:
        sent.extend(item.title for item in items)

    try:
        # a claim another worker took (and then stopped) ...
        assert await store.claim_feed(url, T0, T0 + LEASE)
        assert await store.take_poll(url, T0 + LEASE)
        # ... and, its lease over, the new leader's claim of the feed
        now = T0 + 2 * LEASE
        assert await store.claim_feed(url, now, now + LEASE)
        stale = PollRequest(url, T0, T0 + LEASE)  # handed on again by the broker
        fresh = PollRequest(url, now, now + LEASE)

        await asyncio.gather(fetching.fetch(stale, send), fetching.fetch(fresh, send))

        assert sent == ["Talks resume"]  # the new claim's poll was made
        assert len(server.requests_to("/world.rss")) == 1
        state = await store.feed_state(url)
        assert state is not None and state.last_polled_at == now
    finally:
        await store.close()
