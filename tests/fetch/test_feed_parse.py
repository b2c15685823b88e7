"""parse_feed and the FeedParser pool."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.fetch.parse import FeedError, FeedParser, ParsedFeed, parse_feed
from tests.feedserver import BROKEN_XML, rss

FEEDS = Path(__file__).parent.parent / "data" / "feeds"
URL = "https://news.example.org/feed.xml"


@pytest.fixture(scope="module")
def pool() -> Iterator[FeedParser]:
    with FeedParser(max_workers=1) as parser:
        yield parser


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (BROKEN_XML, "broken feed: line 1:"),
        (b"\x00\x01\xff binary junk", "broken feed:"),
        (b"<html><body><p>Moved</p></body></html>", "not an RSS, Atom or RDF feed"),
        (b'{"items": []}', "broken feed:"),
        (b"", "empty document"),
        (b"  \n ", "empty document"),
    ],
    ids=["broken-xml", "binary", "html-page", "json", "empty", "blank"],
)
def test_documents_that_are_not_feeds_raise_feed_error(body: bytes, message: str) -> None:
    with pytest.raises(FeedError) as info:
        parse_feed(body, URL)
    assert message in info.value.message
    assert info.value.path == URL
    assert str(info.value).startswith(URL + ": ")


def test_broken_xml_that_still_has_entries_is_accepted() -> None:
    parsed = parse_feed((FEEDS / "rss-recoverable.xml").read_bytes(), URL)
    assert [i.title for i in parsed.items] == ["Council approves budget plan", "Library reopens"]


def test_a_valid_feed_without_entries_is_not_an_error() -> None:
    parsed = parse_feed(rss([], title="Quiet day").encode(), URL)
    assert parsed == ParsedFeed(title="Quiet day", items=[])


def test_charset_from_the_http_header() -> None:
    doc = rss([{"title": "Новости дня", "guid": "1"}], title="Вести")
    body = doc.replace('encoding="utf-8"', 'encoding="windows-1251"').encode("cp1251")
    parsed = parse_feed(body, URL, content_type="application/rss+xml; charset=windows-1251")
    assert parsed.title == "Вести" and parsed.items[0].title == "Новости дня"


def test_utf8_without_declaration_is_read_as_utf8() -> None:
    body = b'<rss version="2.0"><channel><title>Z\xc3\xbcrich</title></channel></rss>'
    assert parse_feed(body, URL).title == "Zürich"


def test_relative_links_resolve_against_the_final_url() -> None:
    body = rss([{"title": "A", "link": "story/1"}]).encode()
    parsed = parse_feed(body, URL, base_url="https://cdn.example.org/mirror/feed.xml")
    assert parsed.items[0].link == "https://cdn.example.org/mirror/story/1"
    assert parsed.items[0].feed == URL


def test_results_and_errors_survive_pickling() -> None:
    parsed = parse_feed((FEEDS / "atom.xml").read_bytes(), URL)
    assert pickle.loads(pickle.dumps(parsed)) == parsed
    error = pickle.loads(pickle.dumps(FeedError("broken feed: x", URL)))
    assert (error.message, error.path) == ("broken feed: x", URL)


async def test_pool_parses_like_the_plain_function(pool: FeedParser) -> None:
    body = (FEEDS / "rss20.xml").read_bytes()
    assert await pool.parse(body, URL) == parse_feed(body, URL)


async def test_pool_reports_feed_errors_with_the_url(pool: FeedParser) -> None:
    with pytest.raises(FeedError) as info:
        await pool.parse(BROKEN_XML, URL)
    assert info.value.path == URL and "broken feed" in info.value.message


async def test_pool_keeps_the_event_loop_free(pool: FeedParser) -> None:
    # while the pool parses a large feed, the loop keeps ticking
    items = [{"title": f"Story {n}", "description": "<p>text</p>" * 5} for n in range(300)]
    body = rss(items).encode()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    parsed = await pool.parse(body, URL)
    task.cancel()
    assert len(parsed.items) == 300
    assert ticks > 10


async def test_pool_survives_a_dead_worker() -> None:
    with FeedParser(max_workers=1) as parser:
        body = rss([{"title": "A", "guid": "1"}]).encode()
        assert (await parser.parse(body, URL)).items
        executor = parser._executor
        workers = list(getattr(executor, "_processes", {}).values())
        assert workers, "the pool has started a worker"
        for process in workers:
            os.kill(process.pid, signal.SIGKILL)
            process.join()
        with pytest.raises(FeedError, match="parser process died"):
            await parser.parse(body, URL)
        # a new pool took its place
        assert (await parser.parse(body, URL)).items


async def test_thread_pool_option_and_close() -> None:
    parser = FeedParser(thread=True)
    body = rss([{"title": "A", "guid": "1"}]).encode()
    assert [i.title for i in (await parser.parse(body, URL)).items] == ["A"]
    parser.close()
    with pytest.raises(RuntimeError, match="closed"):
        await parser.parse(body, URL)
