"""The feeds the service polls: the config's, and those added at run time.

The config's feeds are fixed for the life of the process; the feeds added at
run time (``newsmon feeds add``, /api/feeds) are in the store, where another
process or another worker may add or remove one at any moment. One FeedBook,
shared by the scheduling and fetching stages, reads them from the store again
every ``REFRESH_EVERY`` seconds (the scheduler's tick asks, ``refresh_if_stale``)
and at once on ``refresh()`` (the API, after an add). So a feed added anywhere
is polled within seconds, and a removed one is no longer scheduled.

In distributed mode only the leader schedules; another worker handed a poll
of a feed it does not know yet reads the store again first (``find``), so it
never drops a poll of a feed just added. A config feed wins over a stored one
with the same URL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from pydantic import ValidationError

from monitor.config import Feed
from monitor.core.feeds import ManagedFeed
from monitor.store import Store

log = logging.getLogger("newsmon.feeds")

REFRESH_EVERY = 2.0  # seconds between reads of the store's feeds
MISS_REFRESH = 0.5  # at most this often for a poll of a feed not known here


class FeedBook(Mapping[str, Feed]):
    """The feeds by URL, config's first; a Mapping the stages read as they go."""

    def __init__(
        self,
        configured: Sequence[Feed],
        store: Store | None = None,
        default_interval: float = 600.0,
        *,
        every: float = REFRESH_EVERY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store  # None: the config's feeds only
        self.default_interval = default_interval  # where a stored feed without one starts
        self.every = every
        self.monotonic = monotonic
        self._configured = {feed.url: feed for feed in configured}
        self._feeds = dict(self._configured)
        self._urls = list(self._feeds)
        self._refreshed_at: float | None = None
        # each stored feed's Feed, made once (None: not pollable, logged once)
        self._built: dict[ManagedFeed, Feed | None] = {}
        self._lock = asyncio.Lock()

    def __getitem__(self, url: str) -> Feed:
        return self._feeds[url]

    def __iter__(self) -> Iterator[str]:
        return iter(self._urls)

    def __len__(self) -> int:
        return len(self._feeds)

    @property
    def urls(self) -> list[str]:
        """Every feed's URL, config's first."""
        return self._urls

    async def refresh(self) -> None:
        """Read the store's feeds now. A store that does not answer leaves the
        feeds as they were (logged); the next refresh tries again."""
        if self.store is None:
            return
        async with self._lock:
            try:
                stored = await self.store.managed_feeds()
            except Exception as exc:  # the polls of the feeds known go on meanwhile
                log.warning("feeds: cannot read the feeds added at run time: %s", exc)
                return
            finally:
                self._refreshed_at = self.monotonic()
            self._replace(stored)

    async def refresh_if_stale(self) -> None:
        """``refresh`` when the last one is ``every`` seconds old."""
        if self._older_than(self.every):
            await self.refresh()

    async def find(self, url: str) -> Feed | None:
        """The feed at ``url``; when it is not known here, after reading the
        store again (another process may have just added it)."""
        feed = self._feeds.get(url)
        if feed is None and self._older_than(MISS_REFRESH):
            await self.refresh()
            feed = self._feeds.get(url)
        return feed

    def _older_than(self, seconds: float) -> bool:
        return self._refreshed_at is None or self.monotonic() - self._refreshed_at >= seconds

    def _replace(self, stored: Sequence[ManagedFeed]) -> None:
        feeds = dict(self._configured)
        built: dict[ManagedFeed, Feed | None] = {}
        for managed in stored:
            if managed.url in feeds:
                continue
            feed = self._built[managed] if managed in self._built else self._feed(managed)
            built[managed] = feed
            if feed is not None:
                feeds[managed.url] = feed
        self._built = built
        added = [url for url in feeds if url not in self._feeds]
        gone = [url for url in self._feeds if url not in feeds]
        for url in added:
            log.info("feeds: polling %s, added at run time", url)
        for url in gone:
            log.info("feeds: no longer polling %s, removed", url)
        if feeds != self._feeds:
            self._feeds = feeds
            self._urls = list(feeds)

    def _feed(self, managed: ManagedFeed) -> Feed | None:
        pinned = managed.interval_s is not None
        try:
            return Feed(
                url=managed.url,
                name=managed.name,
                interval=managed.interval_s if pinned else self.default_interval,
                pinned=pinned,
            )
        except ValidationError as exc:  # a row written by hand, or by a broken client
            log.warning("feeds: %s, added at run time, is not polled: %s", managed.url, exc)
            return None
