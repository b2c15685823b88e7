"""What a server says about how often to poll it, read from a real loopback
server: Cache-Control, Expires and Age on a 200 and a 304, the feed's own
``<ttl>`` and ``sy:updatePeriod``; and the next poll never sooner than that."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.feeds import FeedState
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser, parse_feed
from monitor.fetch.poll import poll_feed
from tests.feedserver import FeedServer, http_date, rss

STORIES = [{"title": "Talks resume", "link": "https://example.org/talks", "guid": "t-1"}]
INTERVAL = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fetcher(clock: Clock) -> AsyncIterator[Fetcher]:
    async with Fetcher(total_timeout=5, clock=clock) as f:
        yield f


@pytest.fixture(scope="module")
def parser() -> Iterator[FeedParser]:
    with FeedParser(max_workers=1, thread=True) as p:
        yield p


def delay_s(state: FeedState, now: datetime) -> float:
    assert state.next_poll_at is not None
    return (state.next_poll_at - now).total_seconds()


async def test_max_age_on_the_200_and_the_304_sets_the_next_poll(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser, clock: Clock
) -> None:
    headers = {"Cache-Control": "public, max-age=600", "Age": "120"}
    server.set_feed("/f.rss", rss(STORIES), etag='"v1"', headers=headers)
    state = FeedState(url=server.url("/f.rss"))

    first = await poll_feed(fetcher, parser, state, INTERVAL, clock.now, random.Random(1))
    assert first.fresh_for_s == 480  # what a cache already held is taken off
    assert delay_s(first.state, clock.now) == 480

    second = await poll_feed(fetcher, parser, first.state, INTERVAL, clock.now, random.Random(1))
    assert second.state.last_status == 304 and second.fresh_for_s == 480
    assert delay_s(second.state, clock.now) == 480


async def test_expires_counts_from_the_servers_date(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser, clock: Clock
) -> None:
    server_clock = clock.now - timedelta(hours=3)  # a server three hours off
    expires = server_clock + timedelta(minutes=15)
    headers = {"Date": http_date(server_clock), "Expires": http_date(expires)}
    server.set_feed("/f.rss", rss(STORIES), headers=headers)
    outcome = await poll_feed(
        fetcher, parser, FeedState(url=server.url("/f.rss")), INTERVAL, clock.now, random.Random()
    )
    assert outcome.fresh_for_s == 900


async def test_no_cache_is_no_hint(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser, clock: Clock
) -> None:
    server.set_feed("/f.rss", rss(STORIES), headers={"Cache-Control": "no-cache, max-age=600"})
    outcome = await poll_feed(
        fetcher, parser, FeedState(url=server.url("/f.rss")), INTERVAL, clock.now, random.Random()
    )
    assert outcome.fresh_for_s is None
    assert delay_s(outcome.state, clock.now) <= INTERVAL * 1.1


async def test_the_feeds_ttl_is_kept_for_the_304s_that_follow(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser, clock: Clock
) -> None:
    server.set_feed("/f.rss", rss(STORIES, ttl=20), etag='"v1"')
    first = await poll_feed(
        fetcher, parser, FeedState(url=server.url("/f.rss")), INTERVAL, clock.now, random.Random()
    )
    assert first.state.ttl_s == 1200 and delay_s(first.state, clock.now) == 1200
    later = clock.now + timedelta(minutes=20)
    second = await poll_feed(fetcher, parser, first.state, INTERVAL, later, random.Random())
    assert second.state.last_status == 304 and second.state.ttl_s == 1200
    assert delay_s(second.state, later) == 1200


@pytest.mark.parametrize(
    ("ttl", "period", "seconds"),
    [
        (30, None, 1800.0),
        (None, ("hourly", 4), 900.0),
        (5, ("daily", 1), 86400.0),
        (None, None, None),
    ],
    ids=["ttl", "sy", "both-the-longer", "neither"],
)
def test_the_parser_reads_ttl_and_sy_update_period(
    ttl: int | None, period: tuple[str, int] | None, seconds: float | None
) -> None:
    document = rss(STORIES, ttl=ttl, update_period=period).encode()
    assert parse_feed(document, "https://example.org/f.rss").ttl_s == seconds
