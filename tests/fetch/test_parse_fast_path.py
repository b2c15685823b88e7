"""The fast path (feedparser-rs) reads feeds into exactly the items feedparser does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.fetch import parse
from monitor.fetch.parse import ParsedFeed, parse_feed
from tests.feedserver import rss

URL = "https://news.example.org/feed.xml"
FEEDS = Path(__file__).parent.parent / "data" / "feeds"
WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)

DOCUMENTS: dict[str, str | bytes] = {
    "rss-markup": rss(
        [
            {
                "title": "Kerry & Wang <meet>",
                "link": "https://news.example.org/kerry",
                "guid": "seed-1",
                "description": "<p>Talks on <b>tariffs</b> &amp; climate.</p><script>x()</script>",
                "pubDate": WHEN,
            },
            {"title": "Relative link", "link": "story/2", "description": "Plain & simple"},
            {"title": "<b>Bold</b> headline", "guid": "urn:x:3", "content": "<p>Full text</p>"},
        ],
        title="Seed & sons",
    ),
    "atom": """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom feed</title>
<entry><title>Atom entry</title><link href="/a/1?x=1&amp;y=2"/><id>tag:x,2026:1</id>
<summary>a &lt; b</summary><updated>2026-03-04T05:06:07Z</updated></entry>
<entry><title type="html">Second &lt;i&gt;one&lt;/i&gt;</title><id>tag:x,2026:2</id>
<link href="https://e.org/2"/><content type="html">&lt;p&gt;para&lt;/p&gt;</content></entry>
</feed>""",
    **{path.name: path.read_bytes() for path in sorted(FEEDS.glob("*.xml"))},
}


def _by_feedparser(body: bytes) -> ParsedFeed:
    fast, parse._parse_fast = parse._parse_fast, lambda *_: None  # type: ignore[assignment]
    try:
        return parse_feed(body, URL, base_url="https://cdn.example.org/mirror/feed.xml")
    finally:
        parse._parse_fast = fast  # type: ignore[assignment]


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_fast_path_reads_what_feedparser_reads(name: str) -> None:
    document = DOCUMENTS[name]
    body = document.encode() if isinstance(document, str) else document
    fast = parse_feed(body, URL, base_url="https://cdn.example.org/mirror/feed.xml")
    assert fast == _by_feedparser(body)


def test_a_clean_feed_takes_the_fast_path() -> None:
    assert parse._parse_fast(str(DOCUMENTS["rss-markup"]).encode(), None, URL) is not None


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"/>', None),
        (rss([{"title": "x", "guid": "1"}]).encode(), "text/xml; charset=iso-8859-1"),
        (b"https://example.org/feed.xml", None),
    ],
    ids=["declared-charset", "header-charset", "not-xml"],
)
def test_what_the_fast_path_leaves_to_feedparser(body: bytes, content_type: str | None) -> None:
    assert parse._parse_fast(body, content_type, URL) is None
