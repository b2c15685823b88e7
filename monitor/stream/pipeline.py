"""The agents: scheduler → fetch → match → notify, joined by the lanes.

Agents stay thin: decode a message, call the core or an edge, send the result
on. Every stage is a plain method (``poll``, ``match``, ``deliver``) that tests
and the batch commands can call without Faust.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import faust

from monitor.config import Feed, Settings
from monitor.core.alerts import Alert, alerts_for
from monitor.core.items import Item
from monitor.core.outbox import next_attempt
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.fetch.poll import poll_feed
from monitor.notify.channels import Channels
from monitor.notify.deliver import Deliverer
from monitor.rulebook import Rulebook
from monitor.store import FeedState, Store
from monitor.stream.app import Lanes

log = logging.getLogger("newsmon.pipeline")

# How long a poll request or an alert in flight is leased before being retried
# (covers a worker that died holding it).
POLL_LEASE = timedelta(minutes=2)
ALERT_LEASE = timedelta(minutes=2)
BATCH = 64  # messages an agent takes at once and works on concurrently


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Pipeline:
    settings: Settings
    store: Store
    rulebook: Rulebook
    channels: Channels
    deliverer: Deliverer
    fetcher: Fetcher
    parser: FeedParser
    lanes: Lanes
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    stopping: bool = False
    _inflight: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.feeds: dict[str, Feed] = {feed.url: feed for feed in self.settings.feeds}
        self._idle.set()

    # -- wiring ------------------------------------------------------------
    def register(self, app: faust.App) -> None:
        """Attach the agents and timers to ``app``."""
        distributed = not self.settings.embedded
        app.timer(1.0, on_leader=distributed, name="newsmon.schedule")(self.schedule)
        app.timer(5.0, name="newsmon.retry")(self.retry_due_alerts)
        app.agent(self.lanes.poll_requests, name="newsmon.fetch")(self._each(self._on_poll))
        app.agent(self.lanes.items, name="newsmon.match")(self._each(self._on_item))
        app.agent(self.lanes.alerts, name="newsmon.notify")(self._each(self._on_alert))

    def _each(
        self, handle: Callable[[dict[str, Any]], Awaitable[None]]
    ) -> Callable[[faust.StreamT], Awaitable[None]]:
        async def agent(stream: faust.StreamT) -> None:
            batches: AsyncIterator[list[Any]] = stream.take(BATCH, within=0.05)
            async for batch in batches:
                await asyncio.gather(*(self._guarded(handle, value) for value in batch))

        return agent

    async def _guarded(
        self, handle: Callable[[dict[str, Any]], Awaitable[None]], value: Any
    ) -> None:
        try:
            await handle(value)
        except Exception:  # one bad message never stops the stream
            log.exception("failed to process %r", value)
        finally:
            self._done()

    async def _send(self, lane: faust.ChannelT, key: str, value: dict[str, Any]) -> Awaitable[Any]:
        """Send on a lane; the result resolves when the broker has the message."""
        self._inflight += 1
        self._idle.clear()
        return await lane.send(key=key.encode(), value=value)

    def _done(self) -> None:
        self._inflight = max(0, self._inflight - 1)
        if self._inflight == 0:
            self._idle.set()

    async def drained(self, timeout: float) -> bool:
        """Wait until every message sent has been processed."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # -- scheduler ---------------------------------------------------------
    async def schedule(self) -> None:
        """Send a poll request for every feed that is due."""
        if self.stopping:
            return
        now = self.clock()
        for url in await self.store.due_feeds(list(self.feeds), now):
            if await self.store.claim_feed(url, now, now + POLL_LEASE):
                await self._send(self.lanes.poll_requests, url, {"url": url})

    # -- fetch ---------------------------------------------------------------
    async def _on_poll(self, value: dict[str, Any]) -> None:
        feed = self.feeds.get(value["url"])
        if feed is None:  # removed from the config since it was scheduled
            return
        items, state = await self.poll(feed)
        sent = [await self._send(self.lanes.items, i.fingerprint, i.to_json()) for i in items]
        # The feed's validators advance only once its items are safe on the stream:
        # a crash before this line polls the feed again, unconditionally.
        await asyncio.gather(*sent)
        await self.store.save_feed_state(state)

    async def poll(self, feed: Feed) -> tuple[list[Item], FeedState]:
        """Fetch one feed: its items not seen before, and its new state (not yet saved)."""
        state = await self.store.feed_state(feed.url) or FeedState(url=feed.url)
        assert feed.interval is not None
        outcome = await poll_feed(
            self.fetcher, self.parser, state, feed.interval, self.clock(), self.rng
        )
        items = list({item.fingerprint: item for item in outcome.items}.values())
        if feed.name:
            items = [replace(item, feed_title=feed.name) for item in items]
        unseen = await self.store.unseen([item.fingerprint for item in items])
        return [item for item in items if item.fingerprint in unseen], outcome.state

    # -- match ---------------------------------------------------------------
    async def _on_item(self, value: dict[str, Any]) -> None:
        for alert_id, alert in await self.match(Item.from_json(value)):
            await self._send(
                self.lanes.alerts,
                alert.channel,
                {"id": alert_id, "attempts": 0, "alert": alert.to_json()},
            )

    async def match(self, item: Item) -> list[tuple[int, Alert]]:
        """Match an item against the current rules; record it and its alerts."""
        fields = item.fields()
        fired = [m.fired(fields) for m in self.rulebook.current.match(fields)]
        alerts = alerts_for(item, fired, self.channels.channels) if fired else []
        now = self.clock()
        ids = await self.store.record_item(item, alerts, now, lease_until=now + ALERT_LEASE)
        if ids:
            log.info("match: %s — %s", item.title, ", ".join(f.rule for f in fired))
        return list(zip(ids, alerts, strict=False))

    # -- notify ----------------------------------------------------------------
    async def _on_alert(self, value: dict[str, Any]) -> None:
        await self.deliver(value["id"], Alert.from_json(value["alert"]), value.get("attempts", 0))

    async def deliver(self, alert_id: int, alert: Alert, attempts: int) -> bool:
        result = await self.deliverer.deliver(alert)
        now = self.clock()
        if result.ok:
            await self.store.mark_delivered(alert_id, now)
            return True
        error = result.error or "delivery failed"
        retry_at = next_attempt(attempts + 1, now)
        log.warning(
            "alert %s to %s failed (%s); retry at %s", alert.title, alert.channel, error, retry_at
        )
        await self.store.mark_failed(alert_id, error, retry_at, now)
        return False

    async def retry_due_alerts(self) -> None:
        """Send again what the outbox holds undelivered and due (after a failure or a restart)."""
        if self.stopping:
            return
        now = self.clock()
        for pending in await self.store.claim_alerts(now, now + ALERT_LEASE):
            await self._send(
                self.lanes.alerts,
                pending.alert.channel,
                {"id": pending.id, "attempts": pending.attempts, "alert": pending.alert.to_json()},
            )
