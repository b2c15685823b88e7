"""A poll finds the WebSub hub a feed names: in the HTTP Link header first, in
the document's atom:link otherwise, relative URLs resolved, for RSS and Atom."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from aiohttp import web

from monitor.core.feeds import FeedState
from monitor.core.websub import Discovery
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.fetch.poll import poll_feed
from tests.feedserver import rss
from tests.websubhub import advertise

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
ITEM = {"title": "Talks resume", "link": "https://news.example.org/talks", "guid": "w-1"}
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title><id>urn:a</id>
<link rel="hub" href="/hub"/><link rel="self" href="https://news.example.org/atom"/>
<updated>2025-01-06T10:00:00Z</updated>
<entry><title>Talks resume</title><id>urn:1</id><link href="https://news.example.org/t"/>
<updated>2025-01-06T10:00:00Z</updated></entry></feed>"""


class Publisher:
    """Serves each path's document with the headers it is given."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, dict[str, str]]] = {}
        self.base = ""

    async def handle(self, request: web.Request) -> web.Response:
        body, headers = self.routes[request.path]
        return web.Response(text=body, headers=headers, content_type="application/xml")


@pytest.fixture
async def publisher() -> AsyncIterator[Publisher]:
    pub = Publisher()
    app = web.Application()
    app.router.add_get("/{tail:.*}", pub.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    pub.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield pub
    await runner.cleanup()


@pytest.fixture(scope="module")
def parser() -> Iterator[FeedParser]:
    with FeedParser(max_workers=1) as p:
        yield p


async def discovered(pub: Publisher, parser: FeedParser, path: str) -> Discovery | None:
    async with Fetcher(total_timeout=5) as fetcher:
        state = FeedState(url=pub.base + path)
        outcome = await poll_feed(fetcher, parser, state, 300, NOW, random.Random(1))
    assert outcome.read, outcome.error
    return outcome.discovery


async def test_the_document_names_the_hub(publisher: Publisher, parser: FeedParser) -> None:
    publisher.routes["/rss"] = (advertise(rss([ITEM]), "https://hub.example/", "https://t/"), {})
    assert await discovered(publisher, parser, "/rss") == Discovery(
        "https://hub.example/", "https://t/"
    )


async def test_an_atom_feed_with_a_relative_hub(publisher: Publisher, parser: FeedParser) -> None:
    publisher.routes["/atom"] = (ATOM, {})
    found = await discovered(publisher, parser, "/atom")
    assert found == Discovery(publisher.base + "/hub", "https://news.example.org/atom")


async def test_the_link_header_comes_first(publisher: Publisher, parser: FeedParser) -> None:
    link = '</pubsub>; rel="hub", <https://news.example.org/canonical>; rel="self"'
    document = advertise(rss([ITEM]), "https://hub.example/", "https://t/")
    publisher.routes["/both"] = (document, {"Link": link})
    found = await discovered(publisher, parser, "/both")
    assert found == Discovery(publisher.base + "/pubsub", "https://news.example.org/canonical")


async def test_a_feed_without_a_hub(publisher: Publisher, parser: FeedParser) -> None:
    publisher.routes["/plain"] = (rss([ITEM]), {"Link": '<https://x/>; rel="alternate"'})
    assert await discovered(publisher, parser, "/plain") is None
