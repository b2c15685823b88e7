"""Fetcher against a real loopback HTTP server."""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import UTC, datetime

import pytest

from monitor import USER_AGENT
from monitor.fetch.http import Fetcher
from tests.feedserver import FeedServer, rss

DOC = rss([{"title": "Hello", "link": "http://example.com/1", "guid": "1"}])


async def test_identifies_itself_and_asks_for_feeds(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/feed", DOC)
    result = await fetcher.fetch(server.url("/feed"))
    assert result.error is None and result.status == 200
    (request,) = server.requests_to("/feed")
    assert request.headers["User-Agent"] == USER_AGENT
    assert "newsmon" in request.headers["User-Agent"]
    assert "application/rss+xml" in request.headers["Accept"]
    assert "application/atom+xml" in request.headers["Accept"]


async def test_gzip_is_accepted_and_decompressed(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/feed", DOC)
    result = await fetcher.fetch(server.url("/feed"))
    (request,) = server.requests_to("/feed")
    assert "gzip" in request.headers["Accept-Encoding"]
    assert request.gzipped  # the server really sent it compressed
    assert result.body == DOC.encode()


async def test_conditional_get_on_etag(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/feed", DOC, etag='"v1"')
    first = await fetcher.fetch(server.url("/feed"))
    assert first.etag == '"v1"' and first.body is not None

    second = await fetcher.fetch(server.url("/feed"), etag=first.etag)
    assert second.status == 304 and second.not_modified
    assert second.body is None and second.error is None
    assert server.requests_to("/feed")[1].headers["If-None-Match"] == '"v1"'

    server.set_feed("/feed", DOC + "<!-- changed -->", etag='"v2"')
    third = await fetcher.fetch(server.url("/feed"), etag=first.etag)
    assert third.status == 200 and third.etag == '"v2"'


async def test_conditional_get_on_last_modified(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/feed", DOC, last_modified=datetime(2025, 1, 6, 8, 0, tzinfo=UTC))
    first = await fetcher.fetch(server.url("/feed"))
    assert first.last_modified == "Mon, 06 Jan 2025 08:00:00 GMT"
    second = await fetcher.fetch(server.url("/feed"), last_modified=first.last_modified)
    assert second.not_modified and second.body is None
    sent = server.requests_to("/feed")[1].headers
    assert sent["If-Modified-Since"] == "Mon, 06 Jan 2025 08:00:00 GMT"
    assert "If-None-Match" not in sent


async def test_redirects_are_followed_and_the_final_url_recorded(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set_redirect("/old", "/moved", status=301)
    server.set_redirect("/moved", server.url("/new.xml"), status=302)
    server.set_feed("/new.xml", DOC)
    result = await fetcher.fetch(server.url("/old"))
    assert result.status == 200 and result.body == DOC.encode()
    assert result.url == server.url("/old")
    assert result.final_url == server.url("/new.xml")


async def test_redirect_loop_is_an_error(server: FeedServer) -> None:
    server.set_redirect("/a", "/b")
    server.set_redirect("/b", "/a")
    async with Fetcher(max_redirects=5) as fetcher:
        result = await fetcher.fetch(server.url("/a"))
    assert result.error == "too many redirects (more than 5)"
    assert result.body is None


@pytest.mark.parametrize("status", [429, 503])
async def test_rate_limit_gives_retry_after_seconds(
    server: FeedServer, fetcher: Fetcher, status: int
) -> None:
    server.set_status("/feed", status, retry_after=120)
    result = await fetcher.fetch(server.url("/feed"))
    assert result.status == status
    assert result.retry_after_s == 120
    assert result.error is not None and str(status) in result.error
    assert result.body is None


async def test_retry_after_as_http_date(server: FeedServer) -> None:
    now = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
    server.set_status("/feed", 503, retry_after="Mon, 06 Jan 2025 12:10:00 GMT")
    async with Fetcher(clock=lambda: now) as fetcher:
        result = await fetcher.fetch(server.url("/feed"))
    assert result.retry_after_s == 600
    assert result.error == "HTTP 503 Service Unavailable (retry after 600 s)"


async def test_http_errors_are_results_not_exceptions(server: FeedServer, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(server.url("/missing"))
    assert (result.status, result.error, result.body) == (404, "HTTP 404 Not Found", None)
    assert result.retry_after_s is None


async def test_slow_body_within_the_total_timeout(server: FeedServer) -> None:
    server.set_feed("/slow", DOC, gzip=False, chunk_size=64, chunk_delay=0.01)
    async with Fetcher(total_timeout=10) as fetcher:
        result = await fetcher.fetch(server.url("/slow"))
    assert result.error is None and result.body == DOC.encode()


async def test_slow_body_over_the_total_timeout(server: FeedServer) -> None:
    # 40 chunks, 0.1 s apart: each chunk arrives well within any read timeout,
    # but the whole body takes 4 s
    server.set_feed("/slow", DOC, gzip=False, chunk_size=len(DOC) // 40 + 1, chunk_delay=0.1)
    async with Fetcher(total_timeout=0.5) as fetcher:
        result = await fetcher.fetch(server.url("/slow"))
    assert result.error == "timed out after 0.5 s"
    assert result.status is None and result.body is None


@pytest.mark.parametrize("content_length", [False, True], ids=["chunked", "content-length"])
async def test_oversize_body_is_refused(server: FeedServer, content_length: bool) -> None:
    server.set_oversize("/huge", 64 * 1024 * 1024, content_length=content_length)
    async with Fetcher(max_bytes=1 << 20) as fetcher:
        result = await fetcher.fetch(server.url("/huge"))
    assert result.error == "body larger than 1 MiB"
    assert result.body is None


async def test_gzip_bomb_is_capped_on_decompressed_size(server: FeedServer) -> None:
    # 8 MiB of spaces travel as a few KiB of gzip: the limit applies to what is unpacked
    server.set_feed("/bomb", b"<rss>" + b" " * (8 << 20), gzip=True)
    async with Fetcher(max_bytes=1 << 20) as fetcher:
        result = await fetcher.fetch(server.url("/bomb"))
    assert server.requests_to("/bomb")[0].gzipped
    assert result.error == "body larger than 1 MiB"


async def test_connection_refused(fetcher: Fetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await fetcher.fetch(f"http://127.0.0.1:{port}/feed")
    assert result.status is None and result.body is None
    assert result.error is not None and result.error.startswith("could not connect")


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "not a url", "http://"])
async def test_unfetchable_urls(fetcher: Fetcher, url: str) -> None:
    result = await fetcher.fetch(url)
    assert result.error is not None and "invalid URL" in result.error


async def test_per_host_limit_is_never_exceeded(server: FeedServer) -> None:
    for n in range(8):
        server.set_feed(f"/f{n}", DOC, delay=0.05)
    async with Fetcher(per_host=2) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url(f"/f{n}")) for n in range(8)))
    assert all(r.error is None for r in results)
    assert len(server.requests) == 8
    assert server.peak_in_flight == 2  # the limit held, and was used


async def test_hosts_are_limited_separately(server: FeedServer) -> None:
    try:
        other = FeedServer(host="127.0.0.2")
        await other.astart()
    except OSError:
        pytest.skip("127.0.0.2 is not a loopback address here")
    try:
        gate = threading.Event()
        server.set_feed("/held", DOC, gate=gate)
        server.set_feed("/next", DOC)
        other.set_feed("/feed", DOC)
        async with Fetcher(per_host=1) as fetcher:
            held = asyncio.create_task(fetcher.fetch(server.url("/held")))
            queued = asyncio.create_task(fetcher.fetch(server.url("/next")))
            while server.in_flight == 0:
                await asyncio.sleep(0.01)
            # the other host is served while this one's only slot is taken...
            result = await fetcher.fetch(other.url("/feed"))
            assert result.error is None
            # ...and this host's second request waited for its slot
            assert server.requests_to("/next") == []
            gate.set()
            assert (await held).error is None and (await queued).error is None
    finally:
        await other.astop()
