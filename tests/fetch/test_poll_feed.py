"""One poll of one feed, end to end against a loopback server."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.feeds import FeedState
from monitor.core.schedule import MAX_JITTER_FRACTION
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.fetch.poll import poll_feed
from tests.feedserver import BROKEN_XML, FeedServer, rss

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
INTERVAL = 300.0
LAST_MODIFIED = "Mon, 06 Jan 2025 08:00:00 GMT"
STORIES = [
    {
        "title": "Talks resume",
        "link": "/world/talks",
        "guid": "w-1",
        "description": "<p>Geneva</p>",
    },
    {"title": "Markets rally", "link": "/biz/rally", "description": "Stocks up"},
]


@pytest.fixture(scope="module")
def parser() -> Iterator[FeedParser]:
    with FeedParser(max_workers=1) as p:
        yield p


def in_one_interval(when: datetime | None, now: datetime = NOW) -> bool:
    assert when is not None
    return (
        now + timedelta(seconds=INTERVAL)
        <= when
        <= now + timedelta(seconds=INTERVAL * (1 + MAX_JITTER_FRACTION))
    )


async def test_first_poll_then_not_modified(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser
) -> None:
    server.set_feed(
        "/world.rss", rss(STORIES, title="World"), etag='"a1"', last_modified=LAST_MODIFIED
    )
    state = FeedState(url=server.url("/world.rss"))

    first = await poll_feed(fetcher, parser, state, INTERVAL, NOW, random.Random(1))
    assert first.error is None and first.feed_title == "World"
    assert [i.title for i in first.items] == ["Talks resume", "Markets rally"]
    assert first.items[0].link == server.url("/world/talks")
    assert first.state.etag == '"a1"' and first.state.last_modified == LAST_MODIFIED
    assert (first.state.last_status, first.state.failures, first.state.last_error) == (200, 0, None)
    assert first.state.last_polled_at == NOW
    assert in_one_interval(first.state.next_poll_at)

    later = NOW + timedelta(minutes=5)
    second = await poll_feed(fetcher, parser, first.state, INTERVAL, later, random.Random(2))
    assert second.items == [] and second.error is None  # nothing emitted twice
    assert second.state.last_status == 304
    assert second.state.etag == '"a1"' and second.state.last_modified == LAST_MODIFIED
    assert in_one_interval(second.state.next_poll_at, later)
    sent = server.requests_to("/world.rss")[1].headers
    assert sent["If-None-Match"] == '"a1"'
    assert sent["If-Modified-Since"] == LAST_MODIFIED


async def test_a_named_feed_s_items_carry_its_name_not_the_document_s_title(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser
) -> None:
    server.set_feed("/world.rss", rss(STORIES, title="World"))
    state = FeedState(url=server.url("/world.rss"))
    outcome = await poll_feed(
        fetcher, parser, state, INTERVAL, NOW, random.Random(1), name="Wire: world desk"
    )
    assert outcome.feed_title == "World"  # what the document calls itself
    assert {i.feed_title for i in outcome.items} == {"Wire: world desk"}
    assert outcome.items[0].fields()["feed"].startswith("Wire: world desk ")


async def test_changed_feed_is_read_again_with_new_validators(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser
) -> None:
    server.set_feed("/f", rss(STORIES[:1]), etag='"a1"')
    first = await poll_feed(
        fetcher, parser, FeedState(url=server.url("/f")), INTERVAL, NOW, random.Random(1)
    )
    server.set_feed("/f", rss(STORIES), etag='"a2"')
    second = await poll_feed(fetcher, parser, first.state, INTERVAL, NOW, random.Random(1))
    assert second.state.etag == '"a2"'
    assert len(second.items) == 2


async def test_rate_limited_feed_waits_for_retry_after(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser, caplog: pytest.LogCaptureFixture
) -> None:
    server.set_status("/busy", 429, retry_after=3600)
    state = FeedState(url=server.url("/busy"), etag='"old"', last_modified=LAST_MODIFIED)
    with caplog.at_level(logging.WARNING, logger="newsmon.fetch"):
        outcome = await poll_feed(fetcher, parser, state, 60, NOW, random.Random(1))
    assert outcome.items == [] and outcome.error is not None and "429" in outcome.error
    assert outcome.state.next_poll_at is not None
    assert outcome.state.next_poll_at >= NOW + timedelta(hours=1)
    assert outcome.state.failures == 1 and outcome.state.last_status == 429
    assert outcome.state.etag == '"old"'  # validators kept
    assert outcome.state.last_modified == LAST_MODIFIED
    (record,) = caplog.records
    assert server.url("/busy") in record.getMessage() and "429" in record.getMessage()


async def test_broken_feed_fails_while_another_still_works(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser, caplog: pytest.LogCaptureFixture
) -> None:
    server.set_feed("/broken.rss", BROKEN_XML, etag='"b1"')
    server.set_feed("/good.rss", rss(STORIES))
    broken_state = FeedState(url=server.url("/broken.rss"), failures=2)
    with caplog.at_level(logging.WARNING, logger="newsmon.fetch"):
        broken = await poll_feed(fetcher, parser, broken_state, INTERVAL, NOW, random.Random(1))
        good = await poll_feed(
            fetcher, parser, FeedState(url=server.url("/good.rss")), INTERVAL, NOW, random.Random(1)
        )

    assert broken.items == [] and broken.error is not None
    assert broken.error.startswith("broken feed")
    assert broken.state.failures == 3 and broken.state.last_error == broken.error
    assert broken.state.etag is None  # not kept: a 304 must not hide the breakage
    assert broken.state.next_poll_at is not None
    assert broken.state.next_poll_at >= NOW + timedelta(seconds=INTERVAL * 2**3)

    assert good.error is None and len(good.items) == 2

    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert server.url("/broken.rss") in messages[0] and "broken feed" in messages[0]


async def test_success_resets_failures(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser
) -> None:
    server.set_feed("/f", rss(STORIES))
    state = FeedState(url=server.url("/f"), failures=5, last_error="HTTP 500", last_status=500)
    outcome = await poll_feed(fetcher, parser, state, INTERVAL, NOW, random.Random(1))
    assert (outcome.state.failures, outcome.state.last_error) == (0, None)
    assert in_one_interval(outcome.state.next_poll_at)


async def test_oversize_body_is_a_failure(server: FeedServer, parser: FeedParser) -> None:
    server.set_oversize("/huge", 8 << 20)
    async with Fetcher(max_bytes=1 << 20) as fetcher:
        outcome = await poll_feed(
            fetcher, parser, FeedState(url=server.url("/huge")), INTERVAL, NOW, random.Random(1)
        )
    assert outcome.error == "body larger than 1 MiB"
    assert outcome.state.failures == 1 and outcome.items == []


async def test_unreachable_feed_is_a_failure(fetcher: Fetcher, parser: FeedParser) -> None:
    state = FeedState(url="http://127.0.0.1:9/feed")  # discard port: nothing listens
    outcome = await poll_feed(fetcher, parser, state, INTERVAL, NOW, random.Random(1))
    assert outcome.error is not None and outcome.error.startswith("could not connect")
    assert outcome.state.last_status is None and outcome.state.failures == 1


async def test_redirected_feed_resolves_links_against_where_it_lives(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser
) -> None:
    server.set_redirect("/feed", "/v2/news/feed.xml")
    server.set_feed("/v2/news/feed.xml", rss([{"title": "Moved", "link": "story-1"}]))
    outcome = await poll_feed(
        fetcher, parser, FeedState(url=server.url("/feed")), INTERVAL, NOW, random.Random(1)
    )
    (item,) = outcome.items
    assert item.link == server.url("/v2/news/story-1")
    assert item.feed == server.url("/feed")  # the feed as configured
