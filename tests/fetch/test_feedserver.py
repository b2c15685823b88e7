"""The loopback feed server itself, driven from plain synchronous code
(the way end-to-end tests use it next to a `newsmon run` subprocess)."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.fetch.parse import parse_feed
from tests.feedserver import FeedServer, http_date, rss


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


def test_serves_feeds_set_at_runtime(server: FeedServer) -> None:
    server.set_feed("/one.rss", rss([{"title": "First"}]))
    status, headers, body = get(server.url("/one.rss"), **{"User-Agent": "probe/1"})
    assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
    assert b"<title>First</title>" in body
    server.set_feed("/one.rss", rss([{"title": "Second"}]))
    assert b"<title>Second</title>" in get(server.url("/one.rss"))[2]
    assert server.requests_to("/one.rss")[0].headers["user-agent"] == "probe/1"
    assert get(server.url("/nothing-here"))[0] == 404


def test_conditional_requests(server: FeedServer) -> None:
    modified = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    server.set_feed("/c.rss", rss([]), etag='"x1"', last_modified=modified)
    assert get(server.url("/c.rss"), **{"If-None-Match": '"x1"'})[0] == 304
    assert get(server.url("/c.rss"), **{"If-None-Match": 'W/"x1", "x0"'})[0] == 304
    assert get(server.url("/c.rss"), **{"If-None-Match": '"x0"'})[0] == 200
    assert get(server.url("/c.rss"), **{"If-Modified-Since": http_date(modified)})[0] == 304
    earlier = "Mon, 06 Jan 2025 07:59:59 GMT"
    assert get(server.url("/c.rss"), **{"If-Modified-Since": earlier})[0] == 200
    # If-None-Match decides when both are sent
    both = {"If-None-Match": '"x0"', "If-Modified-Since": http_date(modified)}
    assert get(server.url("/c.rss"), **both)[0] == 200


def test_gzip_only_when_accepted(server: FeedServer) -> None:
    doc = rss([{"title": "Zipped"}])
    server.set_feed("/z.rss", doc)
    status, headers, body = get(server.url("/z.rss"), **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == doc.encode()
    status, headers, body = get(server.url("/z.rss"))
    assert status == 200 and "Content-Encoding" not in headers and body == doc.encode()


def test_redirects_and_rate_limits(server: FeedServer) -> None:
    server.set_redirect("/old", "/new", status=302)
    status, headers, _ = get(server.url("/old"))
    assert (status, headers["Location"]) == (302, "/new")
    server.set_status("/limited", 429, retry_after=90)
    status, headers, _ = get(server.url("/limited"))
    assert (status, headers["Retry-After"]) == (429, "90")


def test_rss_builder_round_trips_text_with_markup_characters() -> None:
    text = 'China\'s "threats" & tariffs <2030>\n\nSecond paragraph.'
    published = datetime(2023, 7, 18, 9, 30, tzinfo=UTC)
    doc = rss(
        [
            {
                "title": "Kerry & Wang <meet>",
                "link": "https://news.example.org/kerry",
                "guid": "seed-1",
                "description": text,
                "pubDate": published,
            }
        ],
        title="Seed",
    )
    (item,) = parse_feed(doc.encode(), "http://127.0.0.1/seed.rss").items
    assert item.title == "Kerry & Wang <meet>"
    assert item.summary == " ".join(text.split())
    assert item.published == published
    assert item.link == "https://news.example.org/kerry"
