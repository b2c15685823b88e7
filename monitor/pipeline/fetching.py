"""Fetching: one poll of one feed, its new items handed on, its state saved.

At least once: the feed's new state (validators, next poll, health) is saved
only once its new items are safe on their way (``send`` has returned), so a
crash in between polls the feed again, unconditionally. A request can come
twice (its lease ran out while it was on its way): one for a feed being polled
here, or polled since the request was made, is dropped.

An item is new when the feed's earlier readings never had it; the ones it still
carries keep their seen marks fresh (``monitor.core.retention``). After each
poll the feed's cadence and health are judged (``monitor.core.health``), and a
change of health is a notice to the admin channels.

After a successful poll its next one is planned here, where what it brought is
known: the feed's usual gap between items is learned from it, and its interval
from that, unless the config pins it; the server's hints are honoured
(``monitor.core.schedule``). A failed poll is backed off from the interval the
feed had (``monitor.fetch.poll``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from monitor.config import Feed
from monitor.core.feeds import FeedState
from monitor.core.health import HealthPolicy, assess, notice, updated_cadence
from monitor.core.items import Item
from monitor.core.observe import NO_OBSERVER, Observer, fetch_outcome
from monitor.core.retention import marks_fresh_since
from monitor.core.schedule import IntervalBounds, learned_interval, next_poll, updated_gap
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.fetch.poll import PollOutcome, Reading, poll_feed
from monitor.notify.dispatch import Dispatcher
from monitor.pipeline.feedbook import FeedBook
from monitor.pipeline.scheduling import PollRequest
from monitor.rules.early import EarlyMatches
from monitor.store import Store

log = logging.getLogger("newsmon.pipeline")

# Hands items on to the matching stage; returns once they are safe on their way.
SendItems = Callable[[Sequence[Item]], Awaitable[None]]


class AfterPoll(Protocol):
    """WebSub's part in a poll (``monitor.pipeline.pushing.Pushing``)."""

    async def after_poll(self, feed: Feed, outcome: PollOutcome, now: datetime) -> FeedState:
        """The feed's state to save after ``outcome``."""


class Fetching:
    def __init__(
        self,
        store: Store,
        feeds: Mapping[str, Feed],
        fetcher: Fetcher,
        parser: FeedParser,
        dispatcher: Dispatcher,
        health: HealthPolicy,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
        bounds: IntervalBounds | None = None,  # of learned intervals (fetch.min/max_interval)
        observer: Observer = NO_OBSERVER,
        early: EarlyMatches | None = None,
    ) -> None:
        self.store = store
        # by URL; a FeedBook as it changes (feeds added and removed at run time)
        self.feeds = feeds if isinstance(feeds, FeedBook) else dict(feeds)
        self.fetcher = fetcher
        self.parser = parser
        self.dispatcher = dispatcher  # for the notices about a feed's health
        self.health = health
        self.clock = clock
        self.rng = rng or random.Random()
        self.bounds = bounds or IntervalBounds()
        self.observer = observer
        # feeds this process is polling right now: each one's poll, set when it ends
        self._polling: dict[str, asyncio.Event] = {}
        # the document each feed's last poll read: the same one again is not parsed
        self._readings: dict[str, Reading] = {}
        # WebSub (monitor.pipeline.pushing), set by Stages.build when it is on
        self.push: AfterPoll | None = None
        # the new items' matches made by the parser, for the match stage
        self.early = early if early is not None else EarlyMatches()

    async def fetch(self, request: PollRequest, send: SendItems) -> None:
        """Poll the requested feed, ``send`` its new items, then save its state."""
        feed = self.feeds.get(request.url)
        if feed is None and isinstance(self.feeds, FeedBook):  # added since this worker looked
            feed = await self.feeds.find(request.url)
        if feed is None:  # removed since it was scheduled
            return
        while (polling := self._polling.get(feed.url)) is not None:
            if request.until is None:  # embedded: the poll under way is this one's
                return
            # On Kafka a request of an earlier claim, handed on again after a
            # rebalance, may be under way: once it ends, take_poll says whether
            # this claim is still to be polled. Dropped, its lease would keep
            # the feed unpolled until it ran out.
            await polling.wait()
        polling = self._polling[feed.url] = asyncio.Event()
        try:
            if request.until is not None and not await self.store.take_poll(
                feed.url, request.until
            ):
                log.debug("poll of %s taken by another worker", feed.url)
                return
            state = await self.store.feed_state(feed.url) or FeedState(url=feed.url)
            if request.at and state.last_polled_at and state.last_polled_at >= request.at:
                log.debug("polled %s already since %s", feed.url, request.at.isoformat())
                return
            items, after, reading = await self.poll(feed, state)
            log.debug("polled %s: %d new items", feed.url, len(items))
            await send(items)
            self.observer.items_seen(len(items))
            await self.store.save_feed_state(await self._checked_health(feed, state, after, items))
            if reading is not None:  # only now: its items are safe on their way
                self._readings[feed.url] = reading
        finally:
            del self._polling[feed.url]
            polling.set()

    async def poll(
        self, feed: Feed, state: FeedState
    ) -> tuple[list[Item], FeedState, Reading | None]:
        """Fetch one feed: its items not seen before, its new state (not yet
        saved), and the document it read (see ``monitor.fetch.poll``)."""
        now = self.clock()
        interval = self.interval(feed, state, now)
        last = self._readings.get(feed.url)
        outcome = await poll_feed(
            self.fetcher, self.parser, state, interval, now, self.rng, last, feed.name
        )
        kind, reason = fetch_outcome(outcome.state.last_status, outcome.error, outcome.read)
        self.observer.fetched(kind, reason, self.fetcher.took(feed.url))
        # a 304, the same document again or a failure: no items, and the marks stand
        new = await self.arrived(feed, outcome.items, now) if outcome.read else []
        self.early.add(new, outcome.matches)
        outcome = replace(outcome, state=self._planned(feed, state, outcome, new, now))
        after = outcome.state
        if self.push is not None:  # its hub subscribed to; polled rarely while it pushes
            after = await self.push.after_poll(feed, outcome, now)
        return new, after, outcome.reading

    def interval(self, feed: Feed, state: FeedState, now: datetime) -> float:
        """How often ``feed`` is polled now: as the config pins it, else learned
        from its usual gap between items and how long it has been quiet."""
        assert feed.interval is not None
        if feed.pinned:
            return feed.interval
        last_new = state.last_new_item_at
        quiet = (now - last_new).total_seconds() if last_new is not None else None
        return learned_interval(state.item_gap_s, quiet, feed.interval, self.bounds)

    def _planned(
        self,
        feed: Feed,
        before: FeedState,
        outcome: PollOutcome,
        new_items: Sequence[Item],
        now: datetime,
    ) -> FeedState:
        """The state after a successful poll with its gap learned and next poll
        planned; a failure's as ``poll_feed`` backed it off."""
        if not outcome.ok:
            return outcome.state
        published = [item.published for item in outcome.items]  # none for a 304
        assert feed.interval is not None  # where learning starts
        gap = updated_gap(
            before.item_gap_s,
            published,
            len(new_items),
            before.last_new_item_at,
            now,
            feed.interval,
        )
        learned = replace(outcome.state, item_gap_s=gap)
        # news: not quiet, however long it had been (the health check records it)
        now_state = replace(learned, last_new_item_at=now) if new_items else learned
        interval = self.interval(feed, now_state, now)
        when = next_poll(
            now,
            interval,
            self.rng,
            fresh_for_s=outcome.fresh_for_s,
            ttl_s=learned.ttl_s,
            hint_cap_s=max(self.bounds.max_s, interval),
        )
        return replace(learned, next_poll_at=when)

    async def arrived(
        self, feed: Feed, items: Sequence[Item], now: datetime, *, whole: bool = True
    ) -> list[Item]:
        """Items read from ``feed`` (all it carries, or with ``whole=False`` some
        of them: a hub's push): those never seen before."""
        items = list({item.fingerprint: item for item in items}.values())
        if feed.name:  # a poll's items carry it already (the parser names them), a push's not
            named = feed.name
            items = [i if i.feed_title == named else replace(i, feed_title=named) for i in items]
        # the items the feed still carries keep their seen marks (retention)
        fingerprints = [item.fingerprint for item in items]
        unseen = await self.store.carried(
            feed.url, fingerprints, now, marks_fresh_since(now), whole=whole
        )
        return [item for item in items if item.fingerprint in unseen]

    async def pushed(self, url: str, items: Sequence[Item], send: SendItems) -> int:
        """A hub pushed these items of the feed ``url``: ``send`` those never seen,
        as a poll would, and count them in the feed's cadence. How many were new."""
        feed = self.feeds.get(url)
        if feed is None and isinstance(self.feeds, FeedBook):  # added since this worker looked
            feed = await self.feeds.find(url)
        if feed is None:  # removed; its subscription is on its way out
            return 0
        now = self.clock()
        new = await self.arrived(feed, items, now, whole=False)
        await send(new)
        self.observer.items_seen(len(new))
        # A poll of the feed under way here saves its own state when it ends: the
        # push leaves the cadence to it rather than race it.
        if new and feed.url not in self._polling:
            state = await self.store.feed_state(feed.url) or FeedState(url=feed.url)
            await self.store.save_feed_state(await self._checked_health(feed, state, state, new))
        return len(new)

    async def _checked_health(
        self, feed: Feed, before: FeedState, after: FeedState, new_items: Sequence[Item]
    ) -> FeedState:
        """The feed's new cadence and health; an admin notice when its health changed."""
        now = self.clock()
        if new_items:
            cadence = updated_cadence(before.cadence_s, before.last_new_item_at, now)
            after = replace(after, last_new_item_at=now, cadence_s=cadence)
        else:
            after = replace(
                after, last_new_item_at=before.last_new_item_at, cadence_s=before.cadence_s
            )
        health = assess(after.failures, after.last_new_item_at, after.cadence_s, now, self.health)
        change = notice(
            feed.name or feed.url,
            before.health,
            health,
            error=after.last_error,
            last_new_at=after.last_new_item_at,
        )
        if change is not None:
            await self.dispatcher.admin(change.title, change.body, now)
        return replace(after, health=health)
