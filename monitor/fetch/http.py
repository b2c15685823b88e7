"""Fetching feeds over HTTP: one shared aiohttp session, polite and bounded.

``Fetcher.fetch`` never raises for a network or HTTP problem: whatever
happens comes back as a ``FetchResult`` whose ``error`` says what went wrong
in one line. What it guarantees:

- conditional GET from the validators it is given (If-None-Match,
  If-Modified-Since); a 304 is a result without a body and without an error;
- at most ``per_host`` requests at a time to one host, and at most
  ``max_connections`` in all; when more wait, the slots are shared out by use,
  among a host's feeds and among the hosts (``monitor.fetch.slots``), so slow
  and dead feeds do not hold up quick ones;
- a connect timeout and a total timeout per request (the total covers
  redirects and reading the body, not the wait for a free slot);
- bodies decompressed (gzip, deflate) and capped at ``max_bytes`` while being
  read, so a huge or endless response costs at most that much memory;
- redirects followed, the final URL recorded;
- for an error status, the server's Retry-After in seconds; for a 200 or a
  304, how long the response stays fresh (Cache-Control max-age, Expires, Age).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import aiohttp
from yarl import URL

from monitor import USER_AGENT
from monitor.core.schedule import freshness_s, parse_retry_after
from monitor.core.websub import link_pairs
from monitor.fetch.slots import FairSlots

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one GET of a feed gave.

    ``status`` is None when no response arrived (DNS, connect, timeout...).
    ``body`` is set only for a 2xx response read in full. ``etag`` and
    ``last_modified`` are the validators the response carried.
    """

    url: str
    status: int | None
    body: bytes | None
    etag: str | None
    last_modified: str | None
    retry_after_s: float | None
    error: str | None
    final_url: str
    content_type: str | None = None  # the full header, charset included
    links: tuple[tuple[str, str], ...] = ()  # the Link header's hub and self, (rel, URL)
    # of a 200 or 304: how long the response stays fresh (Cache-Control, Expires, Age)
    fresh_for_s: float | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304 and self.error is None


class BodyTooLarge(Exception):
    pass


def _size(n: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor:
            value = n / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def _seconds(s: float) -> str:
    return f"{s:g} s"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Fetcher:
    """One aiohttp session for all feeds; use as ``async with Fetcher() as f``."""

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        total_timeout: float = 30.0,
        max_bytes: int = 10 * 1024 * 1024,
        per_host: int = 2,
        max_connections: int = 100,
        max_redirects: int = 10,
        user_agent: str = USER_AGENT,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if per_host < 1 or max_connections < 1:
            raise ValueError("per_host and max_connections must be at least 1")
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.per_host = per_host
        self.max_connections = max_connections
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._hosts: dict[str, FairSlots] = {}
        self._all: FairSlots | None = None
        # how long each feed's last fetch took: its place when slots are short
        self._took: dict[str, float] = {}

    async def __aenter__(self) -> Fetcher:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(
            limit=self.max_connections, limit_per_host=self.per_host, ttl_dns_cache=300
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.user_agent, "Accept": ACCEPT},
            # The total limit is enforced around each request (see fetch), so
            # that waiting for a free slot does not eat into it.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout),
            auto_decompress=True,
        )
        self._all = FairSlots(self.max_connections)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def took(self, url: str) -> float | None:
        """How long the last request for ``url`` took, from its slot to its last
        byte (None: never made)."""
        return self._took.get(url)

    def _host_slots(self, host: str) -> FairSlots:
        slots = self._hosts.get(host)
        if slots is None:
            slots = self._hosts[host] = FairSlots(self.per_host)
        return slots

    @contextlib.asynccontextmanager
    async def _timed(self, url: str) -> AsyncIterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self._took[url] = time.monotonic() - start

    async def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url``; never raises for network or HTTP problems."""
        if self._session is None or self._all is None:
            raise RuntimeError("Fetcher is not open: use `async with Fetcher() as fetcher`")

        def failed(error: str, status: int | None = None, final_url: str = url) -> FetchResult:
            return FetchResult(url, status, None, None, None, None, error, final_url)

        try:
            parsed = URL(url)
        except (ValueError, TypeError) as exc:
            return failed(f"invalid URL: {exc}")
        if parsed.scheme not in ("http", "https") or not parsed.host:
            return failed(f"invalid URL {url!r}: only http:// and https:// URLs can be fetched")

        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified

        # the host's slot first: a poll waiting for a busy host holds no slot of all;
        # shared fairly among the host's feeds, then among the hosts
        expected = self._took.get(url)  # None: never fetched
        host = parsed.host.lower()
        async with (
            self._host_slots(host).slot(url, expected),
            self._all.slot(host, expected),
            self._timed(url),
        ):
            try:
                async with asyncio.timeout(self.total_timeout):
                    return await self._get(url, headers)
            except aiohttp.ConnectionTimeoutError:
                return failed(f"connect timed out after {_seconds(self.connect_timeout)}")
            except TimeoutError:
                return failed(f"timed out after {_seconds(self.total_timeout)}")
            except aiohttp.TooManyRedirects:
                return failed(f"too many redirects (more than {self.max_redirects})")
            except aiohttp.InvalidURL as exc:
                return failed(f"invalid URL: {exc}")
            except aiohttp.ClientConnectorError as exc:
                return failed(f"could not connect: {exc}")
            except aiohttp.ClientResponseError as exc:  # malformed response, bad encoding
                return failed(f"bad response: {exc.message or type(exc).__name__}", exc.status)
            except aiohttp.ClientPayloadError as exc:
                return failed(f"body cut short: {exc}")
            except (aiohttp.ClientError, OSError) as exc:
                return failed(f"{type(exc).__name__}: {exc}".rstrip(": "))

    async def _get(self, url: str, headers: dict[str, str]) -> FetchResult:
        assert self._session is not None
        async with self._session.get(
            url, headers=headers, max_redirects=self.max_redirects
        ) as resp:
            final_url = str(resp.url)
            etag = resp.headers.get("ETag")
            last_modified = resp.headers.get("Last-Modified")
            content_type = resp.headers.get("Content-Type")
            status = resp.status
            fresh_for = freshness_s(
                ", ".join(resp.headers.getall("Cache-Control", [])) or None,
                resp.headers.get("Expires"),
                resp.headers.get("Date"),
                resp.headers.get("Age"),
                self._clock(),
            )

            if status == 304:
                return FetchResult(
                    url,
                    status,
                    None,
                    etag,
                    last_modified,
                    None,
                    None,
                    final_url,
                    content_type,
                    fresh_for_s=fresh_for,
                )
            if not 200 <= status < 300:
                retry_after = None
                if "Retry-After" in resp.headers:
                    retry_after = parse_retry_after(resp.headers["Retry-After"], self._clock())
                error = f"HTTP {status} {resp.reason or ''}".rstrip()
                if retry_after is not None:
                    error += f" (retry after {retry_after:.0f} s)"
                return FetchResult(
                    url, status, None, etag, last_modified, retry_after, error, final_url
                )

            try:
                body = await self._read_capped(resp)
            except BodyTooLarge:
                error = f"body larger than {_size(self.max_bytes)}"
                return FetchResult(url, status, None, None, None, None, error, final_url)
            return FetchResult(
                url,
                status,
                body,
                etag,
                last_modified,
                None,
                None,
                final_url,
                content_type,
                link_pairs([(rel, str(link["url"])) for rel, link in resp.links.items()]),
                fresh_for_s=fresh_for,
            )

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        # Content-Length counts the compressed bytes, so it can only reject early;
        # the limit that matters is on the decompressed bytes read below.
        if resp.content_length is not None and resp.content_length > self.max_bytes:
            raise BodyTooLarge
        body = bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > self.max_bytes:
                raise BodyTooLarge
        return bytes(body)
