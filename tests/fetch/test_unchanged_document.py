"""A feed that answers 200 with the very document it gave last time (no
validators, or a server that ignores them) costs little: it is not parsed
again, and counts as a 304 (no items, the seen marks stand). A document that
changed is read as ever; a broken one fails again with the same error; and a
poll whose items were lost on their way reads them again."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from monitor.config import Feed
from monitor.core.feeds import FeedState
from monitor.core.health import HealthPolicy
from monitor.core.items import Item
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser, ParsedFeed
from monitor.fetch.poll import poll_feed
from monitor.notify.dispatch import Dispatcher
from monitor.pipeline.fetching import Fetching
from monitor.pipeline.scheduling import PollRequest
from monitor.store import open_store
from tests.feedserver import BROKEN_XML, FeedServer, rss

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
INTERVAL = 300.0
STORY = {"title": "Talks resume", "link": "https://news.example.org/talks", "guid": "w-1"}
LATER = {"title": "Talks end", "link": "https://news.example.org/end", "guid": "w-2"}


class Counting:
    """The parser, counting the documents it is given."""

    def __init__(self, parser: FeedParser) -> None:
        self.parser = parser
        self.calls = 0

    async def parse(self, body: bytes, url: str, **options: Any) -> ParsedFeed:
        self.calls += 1
        return await self.parser.parse(body, url, **options)


@pytest.fixture(scope="module")
def feed_parser() -> Iterator[FeedParser]:
    with FeedParser(max_workers=1, thread=True) as p:
        yield p


@pytest.fixture
def parser(feed_parser: FeedParser) -> Counting:
    return Counting(feed_parser)


async def test_the_same_document_again_is_not_parsed_and_counts_as_a_304(
    server: FeedServer, fetcher: Fetcher, parser: Counting
) -> None:
    server.set_feed("/world.rss", rss([STORY]))  # no ETag, no Last-Modified
    rng = random.Random(1)
    state = FeedState(url=server.url("/world.rss"))
    p = cast(FeedParser, parser)

    first = await poll_feed(fetcher, p, state, INTERVAL, NOW, rng)
    assert [i.title for i in first.items] == ["Talks resume"] and first.read
    later = NOW + timedelta(minutes=5)
    second = await poll_feed(fetcher, p, first.state, INTERVAL, later, rng, first.reading)
    assert parser.calls == 1  # not parsed again
    assert second.unchanged and not second.read and second.items == []
    assert (second.state.last_status, second.state.failures, second.error) == (200, 0, None)
    assert second.state.last_polled_at == later and second.state.next_poll_at is not None
    assert second.state.next_poll_at >= later + timedelta(seconds=INTERVAL)

    server.set_feed("/world.rss", rss([LATER, STORY]))
    third = await poll_feed(fetcher, p, second.state, INTERVAL, later, rng, second.reading)
    assert parser.calls == 2 and third.read
    assert [i.title for i in third.items] == ["Talks end", "Talks resume"]


async def test_the_same_broken_document_fails_again_unparsed(
    server: FeedServer, fetcher: Fetcher, parser: Counting
) -> None:
    server.set_feed("/broken.rss", BROKEN_XML)
    rng = random.Random(1)
    state = FeedState(url=server.url("/broken.rss"))
    p = cast(FeedParser, parser)

    first = await poll_feed(fetcher, p, state, INTERVAL, NOW, rng)
    second = await poll_feed(fetcher, p, first.state, INTERVAL, NOW, rng, first.reading)
    assert parser.calls == 1
    assert first.error is not None and second.error == first.error
    assert (first.state.failures, second.state.failures) == (1, 2)  # backed off as ever


async def test_items_lost_on_their_way_are_read_again_from_the_same_document(
    server: FeedServer, fetcher: Fetcher, parser: Counting, tmp_path: Path
) -> None:
    server.set_feed("/world.rss", rss([STORY]))
    url = server.url("/world.rss")
    store = await open_store(f"sqlite:///{tmp_path / 'newsmon.db'}")
    fetching = Fetching(
        store,
        {url: Feed(url=url, interval=INTERVAL, pinned=True)},
        fetcher,
        cast(FeedParser, parser),
        cast(Dispatcher, None),  # no change of health to tell here
        HealthPolicy(),
        lambda: NOW,
    )
    sent: list[str] = []

    async def lost(items: Sequence[Item]) -> None:
        raise ConnectionError("the stream is down")

    async def send(items: Sequence[Item]) -> None:
        sent.extend(item.title for item in items)

    try:
        with pytest.raises(ConnectionError):
            await fetching.fetch(PollRequest(url, None), lost)
        await fetching.fetch(PollRequest(url, None), send)
        assert sent == ["Talks resume"]  # parsed again: the first reading never counted
        await fetching.fetch(PollRequest(url, None), send)
        assert sent == ["Talks resume"] and parser.calls == 2  # then the same: unparsed
    finally:
        await store.close()
