"""A poll's outcome as /metrics counts it: one of a few fixed reasons for each
way a real fetch against a loopback server goes wrong, never its message."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.core.feeds import FeedState
from monitor.core.observe import ERROR, FETCH_REASONS, NOT_MODIFIED, OK, fetch_outcome
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.fetch.poll import PollOutcome, poll_feed
from tests.feedserver import FeedServer, rss
from tests.servers import free_port

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
STORY = {"title": "Talks resume", "link": "/world/talks", "guid": "w-1"}


@pytest.fixture(scope="module")
def parser() -> Iterator[FeedParser]:
    with FeedParser(max_workers=1) as p:
        yield p


async def poll(
    fetcher: Fetcher, parser: FeedParser, url: str, etag: str | None = None
) -> PollOutcome:
    state = FeedState(url=url, etag=etag)
    return await poll_feed(fetcher, parser, state, 300.0, NOW, random.Random(1))


def outcome_of(polled: PollOutcome) -> tuple[str, str]:
    return fetch_outcome(polled.state.last_status, polled.error, polled.read)


async def test_a_feed_read_and_one_not_modified(
    server: FeedServer, fetcher: Fetcher, parser: FeedParser
) -> None:
    server.set_feed("/world.rss", rss([STORY]), etag='"a1"')
    assert outcome_of(await poll(fetcher, parser, server.url("/world.rss"))) == (OK, "")
    again = await poll(fetcher, parser, server.url("/world.rss"), etag='"a1"')
    assert outcome_of(again) == (NOT_MODIFIED, "")


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda s: s.set_status("/f", 404), "http_4xx"),
        (lambda s: s.set_status("/f", 429, retry_after=60), "http_4xx"),
        (lambda s: s.set_status("/f", 503), "http_5xx"),
        (lambda s: s.set_feed("/f", b"<html><body>not a feed"), "parse"),
        (lambda s: s.set_oversize("/f", 2 << 20), "too_large"),
        (lambda s: s.set_feed("/f", rss([STORY]), delay=2.0), "timeout"),
    ],
    ids=["404", "429", "503", "not-a-feed", "oversize", "slow"],
)
async def test_each_failure_has_its_reason(
    server: FeedServer, parser: FeedParser, setup: object, reason: str
) -> None:
    setup(server)  # type: ignore[operator]
    async with Fetcher(total_timeout=0.5, max_bytes=1 << 20) as fetcher:
        polled = await poll(fetcher, parser, server.url("/f"))
    assert polled.error is not None
    assert outcome_of(polled) == (ERROR, reason)


async def test_a_refused_connection_and_a_url_that_cannot_be_fetched(
    fetcher: Fetcher, parser: FeedParser
) -> None:
    refused = await poll(fetcher, parser, f"http://127.0.0.1:{free_port()}/feed")
    assert outcome_of(refused) == (ERROR, "connection")
    assert outcome_of(await poll(fetcher, parser, "ftp://example.org/feed")) == (ERROR, "other")


def test_reasons_are_a_fixed_set_whatever_the_message() -> None:
    messages = ["", "HTTP 418 I'm a teapot", "x" * 500, "https://user:pw@example.org/"]
    for status in (None, 200, 301, 404, 500, 599):
        for message in messages:
            outcome, reason = fetch_outcome(status, message, read=False)
            assert (outcome, reason in FETCH_REASONS) == (ERROR, True)
