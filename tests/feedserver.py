"""A real feed server on 127.0.0.1 for tests and benchmarks.

It serves whatever the test puts at a path, and behaves like the servers
newsmon meets: conditional GET, gzip, redirects, rate limits, slow and
oversize bodies, broken documents. Every request is recorded (path, headers,
status, start and end times) so tests can check what the client sent and when.

In an async test, run it on the test's own loop::

    async with FeedServer() as server:
        server.set_feed("/world.rss", rss([{"title": "Hello", "link": "..."}]))
        ... server.url("/world.rss") ...

From synchronous code (e.g. while ``newsmon run`` runs as a subprocess), run
it in a background thread with its own loop::

    with FeedServer() as server:        # or server.start() / server.stop()
        ...

All ``set_*`` methods and the recorded data may be used from any thread.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import CIMultiDict

RSS_TYPE = "application/rss+xml; charset=utf-8"
# not well-formed and without a single entry: no parser can make a feed of it
BROKEN_XML = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title><<<</rss>'


@dataclass
class RecordedRequest:
    path: str
    method: str
    headers: CIMultiDict[str]  # case-insensitive: headers["user-agent"]
    query: str
    status: int | None = None  # None while the response is still being sent
    gzipped: bool = False
    started: float = field(default_factory=time.monotonic)  # this process's monotonic clock
    finished: float | None = None  # when the handler returned; None while in progress


@dataclass(frozen=True)
class _Route:
    kind: str  # "feed", "redirect", "status", "oversize"
    body: bytes = b""
    content_type: str = RSS_TYPE
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None
    retry_after: str | None = None
    gzip: bool = True
    delay: float = 0.0  # before the response starts
    chunk_size: int | None = None  # send the body in chunks...
    chunk_delay: float = 0.0  # ...with this pause between them
    size: int = 0  # oversize: bytes to send
    content_length: bool = True
    gate: threading.Event | None = None  # hold the response until set
    headers: tuple[tuple[str, str], ...] = ()  # sent with a feed's 200 and 304


@dataclass
class _Stats:
    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0


class FeedServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._routes: dict[str, _Route] = {}
        self._stats = _Stats()
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    # -- addresses -------------------------------------------------------

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("FeedServer is not started")
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- what to serve ---------------------------------------------------

    def set_feed(
        self,
        path: str,
        document: str | bytes,
        *,
        etag: str | None = None,
        last_modified: str | datetime | None = None,
        content_type: str = RSS_TYPE,
        gzip: bool = True,
        delay: float = 0.0,
        chunk_size: int | None = None,
        chunk_delay: float = 0.0,
        gate: threading.Event | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Serve ``document`` at ``path`` with status 200.

        ``etag``/``last_modified`` are sent and honoured for conditional GET
        (304). ``chunk_size`` and ``chunk_delay`` make a slow body; ``delay``
        holds the response before it starts; ``gate`` holds it until set.
        ``headers`` go with the 200 and the 304 (Cache-Control, Expires…).
        """
        body = document.encode("utf-8") if isinstance(document, str) else document
        if isinstance(last_modified, datetime):
            last_modified = http_date(last_modified)
        self._set(
            path,
            _Route(
                kind="feed",
                body=body,
                content_type=content_type,
                etag=etag,
                last_modified=last_modified,
                gzip=gzip,
                delay=delay,
                chunk_size=chunk_size,
                chunk_delay=chunk_delay,
                gate=gate,
                headers=tuple((headers or {}).items()),
            ),
        )

    def set_redirect(self, path: str, target: str, status: int = 301) -> None:
        """Redirect ``path`` to ``target`` (a path on this server or a full URL)."""
        self._set(path, _Route(kind="redirect", status=status, location=target))

    def set_status(
        self,
        path: str,
        status: int,
        *,
        retry_after: str | int | None = None,
        body: str | bytes = b"",
    ) -> None:
        """Answer ``path`` with ``status`` (e.g. 429, 503 with Retry-After, 404)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        after = str(retry_after) if retry_after is not None else None
        route = _Route(kind="status", status=status, retry_after=after, body=data)
        self._set(path, replace(route, content_type="text/plain; charset=utf-8", gzip=False))

    def set_oversize(self, path: str, size: int, *, content_length: bool = False) -> None:
        """Serve a feed-looking body of ``size`` bytes, by default without
        Content-Length, so a client must enforce its limit while reading."""
        self._set(path, _Route(kind="oversize", size=size, content_length=content_length))

    def remove(self, path: str) -> None:
        with self._lock:
            self._routes.pop(path, None)

    def _set(self, path: str, route: _Route) -> None:
        with self._lock:
            self._routes[path if path.startswith("/") else "/" + path] = route

    # -- what happened ---------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._stats.requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    @property
    def in_flight(self) -> int:
        return self._stats.in_flight

    @property
    def peak_in_flight(self) -> int:
        """Most requests this server was handling at the same time."""
        return self._stats.peak_in_flight

    def reset_stats(self) -> None:
        """Forget recorded requests and the peak (requests in flight still count)."""
        with self._lock:
            self._stats.requests.clear()
            self._stats.peak_in_flight = self._stats.in_flight

    # -- running on the caller's loop --------------------------------------

    async def astart(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # a short shutdown timeout: gated or endless responses must not hold up stop()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]

    async def astop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FeedServer:
        await self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    # -- running in a background thread ------------------------------------

    def start(self) -> FeedServer:
        """Serve from a background thread; returns once the port is bound."""
        started = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                await self.astart()
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            await self._stop.wait()
            await self.astop()

        self._thread = threading.Thread(
            target=asyncio.run, args=(serve(),), name="feedserver", daemon=True
        )
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None or self._stop is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        self._thread = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the handler -------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        record = RecordedRequest(
            path=request.path,
            method=request.method,
            headers=CIMultiDict(request.headers),
            query=request.query_string,
        )
        with self._lock:
            self._stats.requests.append(record)
            route = self._routes.get(request.path)
            self._stats.in_flight += 1
            self._stats.peak_in_flight = max(self._stats.peak_in_flight, self._stats.in_flight)
        try:
            response = await self._respond(request, route, record)
            record.status = response.status
            return response
        finally:
            record.finished = time.monotonic()
            with self._lock:
                self._stats.in_flight -= 1

    async def _respond(
        self, request: web.Request, route: _Route | None, record: RecordedRequest
    ) -> web.StreamResponse:
        if route is None:
            return web.Response(status=404, text="no such feed")
        if route.delay:
            await asyncio.sleep(route.delay)
        if route.gate is not None:
            while not route.gate.is_set():
                await asyncio.sleep(0.005)
        if route.kind == "redirect":
            assert route.location is not None
            return web.Response(status=route.status, headers={"Location": route.location})
        if route.kind == "status":
            extra = {"Retry-After": route.retry_after} if route.retry_after else {}
            return web.Response(
                status=route.status,
                body=route.body,
                headers=extra,
                content_type="text/plain",
            )
        if route.kind == "oversize":
            return await self._oversize(request, route)

        headers: dict[str, str] = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if _not_modified(request.headers, route):
            return web.Response(status=304, headers=headers)
        body = route.body
        headers["Content-Type"] = route.content_type
        headers["Vary"] = "Accept-Encoding"
        if route.gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
            record.gzipped = True
        if route.chunk_size is None:
            return web.Response(status=200, body=body, headers=headers)

        response = web.StreamResponse(status=200, headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for start in range(0, len(body), route.chunk_size):
                await response.write(body[start : start + route.chunk_size])
                await asyncio.sleep(route.chunk_delay)
            await response.write_eof()
        except ConnectionError:
            pass  # the client gave up (a timeout being tested)
        return response

    async def _oversize(self, request: web.Request, route: _Route) -> web.StreamResponse:
        head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
        response = web.StreamResponse(status=200, headers={"Content-Type": RSS_TYPE})
        if route.content_length:
            response.content_length = route.size
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        sent = 0
        chunk = b" " * 65536
        try:
            await response.write(head)
            sent = len(head)
            while sent < route.size:
                piece = chunk[: route.size - sent]
                await response.write(piece)
                sent += len(piece)
            await response.write_eof()
        except ConnectionError:
            pass  # the client stopped reading, as it should
        return response


def _weak(tag: str) -> str:
    return tag.strip().removeprefix("W/")


def _not_modified(headers: Mapping[str, str], route: _Route) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        if not route.etag:
            return False
        tags = [_weak(tag) for tag in if_none_match.split(",")]
        return "*" in tags or _weak(route.etag) in tags
    since = headers.get("If-Modified-Since")
    if since and route.last_modified:
        try:
            return parsedate_to_datetime(route.last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


# -- building documents -----------------------------------------------------


def http_date(when: datetime) -> str:
    """``when`` as an HTTP-date / RFC 822 date (naive means UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return format_datetime(when.astimezone(UTC), usegmt=True)


def rss(
    items: Iterable[Mapping[str, Any]],
    *,
    title: str = "Test feed",
    link: str = "http://example.com/",
    description: str = "",
    ttl: int | None = None,
    update_period: tuple[str, int] | None = None,
) -> str:
    """An RSS 2.0 document from dicts with any of: ``title``, ``link``,
    ``guid``, ``description``, ``content`` (content:encoded), ``pubDate``
    (a datetime or a string). All text is escaped; HTML in ``description``
    arrives as HTML, the way real feeds carry it. A ``guid`` that is not a
    URL is marked isPermaLink="false". ``ttl`` (minutes) and ``update_period``
    (``("hourly", 2)``: sy:updatePeriod and sy:updateFrequency) say how often
    the feed asks to be read."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">',
        "<channel>",
        f"<title>{escape(title)}</title>",
        f"<link>{escape(link)}</link>",
        f"<description>{escape(description)}</description>",
    ]
    if ttl is not None:
        out.append(f"<ttl>{ttl}</ttl>")
    if update_period is not None:
        period, frequency = update_period
        out.append(f"<sy:updatePeriod>{period}</sy:updatePeriod>")
        out.append(f"<sy:updateFrequency>{frequency}</sy:updateFrequency>")
    for item in items:
        out.append("<item>")
        for key in ("title", "link", "description"):
            if item.get(key) is not None:
                out.append(f"<{key}>{escape(str(item[key]))}</{key}>")
        if item.get("content") is not None:
            out.append(f"<content:encoded>{escape(str(item['content']))}</content:encoded>")
        guid = item.get("guid")
        if guid is not None:
            permalink = str(guid).startswith(("http://", "https://"))
            attr = "" if permalink else ' isPermaLink="false"'
            out.append(f"<guid{attr}>{escape(str(guid))}</guid>")
        published = item.get("pubDate")
        if isinstance(published, datetime):
            published = http_date(published)
        if published is not None:
            out.append(f"<pubDate>{escape(str(published))}</pubDate>")
        out.append("</item>")
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


__all__ = ["BROKEN_XML", "RSS_TYPE", "FeedServer", "RecordedRequest", "http_date", "rss"]
