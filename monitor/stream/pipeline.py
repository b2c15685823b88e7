"""The agents: scheduler → fetch → match → notify, joined by the lanes.

Agents stay thin: decode a message, call the core or an edge, send the result
on. Every stage is a plain method (``poll``, ``match``, ``deliver``) that tests
and the batch commands can call without Faust.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import faust

from monitor.config import Feed, Settings
from monitor.core.alerts import Alert, alerts_for, is_news
from monitor.core.feeds import FeedState
from monitor.core.health import HealthPolicy, assess, notice, updated_cadence
from monitor.core.items import Item
from monitor.core.outbox import PendingAlert, Plan
from monitor.core.retention import Pruned, cutoffs, marks_fresh_since
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.fetch.poll import poll_feed
from monitor.notify.channels import Channels
from monitor.notify.dispatch import Dispatcher
from monitor.rules.rulebook import Rulebook
from monitor.store import Store
from monitor.stories import StoryBook
from monitor.stream.app import Lanes

log = logging.getLogger("newsmon.pipeline")

# How long an alert in flight is leased before the retry loop sends it again
# (covers a worker that died holding it).
ALERT_LEASE = timedelta(minutes=2)
# A poll request's lease is twice the fetch timeout, and at least this: long
# enough for the request to cross the stream and the fetch to finish, short
# enough that a request lost with a dead leader is soon sent again. A request
# that turns out to be a duplicate is dropped by the fetch agent.
MIN_POLL_LEASE = timedelta(seconds=10)
BATCH = 64  # messages an agent takes at once and works on concurrently
# How often each worker prunes what retention no longer keeps (and once at
# start, so a service that was down a while catches up at once).
PRUNE_EVERY = timedelta(hours=1)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Pipeline:
    settings: Settings
    store: Store
    rulebook: Rulebook
    channels: Channels
    dispatcher: Dispatcher
    stories: StoryBook
    fetcher: Fetcher
    parser: FeedParser
    lanes: Lanes
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    stopping: bool = False
    leading: bool = False  # distributed mode: this worker runs the scheduler
    _inflight: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.feeds: dict[str, Feed] = {feed.url: feed for feed in self.settings.feeds}
        health = self.settings.health
        self.health_policy = HealthPolicy(
            failures=health.failures,
            silence=health.silence,
            min_silence=timedelta(seconds=health.min_silence),
        )
        self.poll_lease = max(MIN_POLL_LEASE, timedelta(seconds=2 * self.settings.fetch.timeout))
        self._polling: set[str] = set()  # feeds this process is polling right now
        # What "drained" waits for. In embedded mode a message lives only in this
        # process until an agent handles it, so every send counts until handled.
        # On Kafka a message is safe once the broker has it (handlers await their
        # sends) and another worker may be the one to handle it, so only the
        # handlers running here count.
        self._count_sends = self.settings.embedded
        self._idle.set()

    # -- wiring ------------------------------------------------------------
    def register(self, app: faust.App) -> None:
        """Attach the agents and timers to ``app``."""
        schedule = self.schedule if self.settings.embedded else self._lead(app.is_leader)
        app.timer(1.0, name="newsmon.schedule")(schedule)
        app.timer(5.0, name="newsmon.retry")(self.retry_due_alerts)
        # Every worker prunes, not just the leader: the store shares the rows out.
        app.task(self.prune)
        app.timer(PRUNE_EVERY.total_seconds(), name="newsmon.prune")(self.prune)
        app.agent(self.lanes.poll_requests, name="newsmon.fetch")(self._each(self._on_poll))
        app.agent(self.lanes.items, name="newsmon.match")(self._each(self._on_item))
        # On Kafka, what a dead worker handled after its last offset commit is
        # handled again by the next owner of the partition. For alerts that means
        # messages sent twice, so their offsets are committed after every batch
        # instead of every broker_commit_interval.
        alerts_topics = set() if self.settings.embedded else {self.lanes.alerts.get_topic_name()}
        commit_alerts = (lambda: app.commit(alerts_topics)) if alerts_topics else None
        app.agent(self.lanes.alerts, name="newsmon.notify")(
            self._each(self._on_alert, commit=commit_alerts)
        )

    def _each(
        self,
        handle: Callable[[dict[str, Any]], Awaitable[None]],
        commit: Callable[[], Awaitable[Any]] | None = None,
    ) -> Callable[[faust.StreamT], Awaitable[None]]:
        async def agent(stream: faust.StreamT) -> None:
            # Events, not values: the notify agent acks them itself. (take_events is
            # on faust.Stream, not on the StreamT interface.)
            take_events = cast(faust.Stream, stream).take_events
            batches: AsyncIterator[Sequence[faust.EventT]] = take_events(BATCH, within=0.05)
            async for events in batches:
                await asyncio.gather(*(self._guarded(handle, event.value) for event in events))
                if commit is not None:
                    for event in events:  # take_events acks them too; a second ack is a no-op
                        await stream.ack(event)
                    await commit()

        return agent

    def _lead(self, is_leader: Callable[[], bool]) -> Callable[[], Awaitable[None]]:
        """The scheduler of a distributed deployment: it runs on the leader only.

        Faust elects the leader; this says so in the log whenever it changes.
        """

        async def tick() -> None:
            leading = is_leader()
            if leading != self.leading:
                self.leading = leading
                log.info(
                    "leader: this worker %s",
                    "schedules the feeds" if leading else "no longer schedules the feeds",
                )
            if leading:
                await self.schedule()

        return tick

    async def _guarded(
        self, handle: Callable[[dict[str, Any]], Awaitable[None]], value: Any
    ) -> None:
        if not self._count_sends:
            self._begin()
        try:
            await handle(value)
        except Exception:  # one bad message never stops the stream
            log.exception("failed to process %r", value)
        finally:
            self._done()

    async def _send(self, lane: faust.ChannelT, key: str, value: dict[str, Any]) -> Awaitable[Any]:
        """Send on a lane; the result resolves when the broker has the message."""
        if self._count_sends:
            self._begin()
        return await lane.send(key=key.encode(), value=value)

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        """Work that "drained" waits for: a timer's tick sends until it ends."""
        self._begin()
        try:
            yield
        finally:
            self._done()

    def _begin(self) -> None:
        self._inflight += 1
        self._idle.clear()

    def _done(self) -> None:
        self._inflight = max(0, self._inflight - 1)
        if self._inflight == 0:
            self._idle.set()

    async def drained(self, timeout: float) -> bool:
        """Wait until this process's work is done (see ``_count_sends``)."""
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
        with self._busy():
            now = self.clock()
            request = {"at": now.isoformat()}
            sent = [
                await self._send(self.lanes.poll_requests, url, {"url": url, **request})
                for url in await self.store.due_feeds(list(self.feeds), now)
                if await self.store.claim_feed(url, now, now + self.poll_lease)
            ]
            # A claimed feed is leased; a request lost before the broker has it would
            # leave the feed unpolled until the lease ends, so wait for the broker.
            await asyncio.gather(*sent)

    # -- fetch ---------------------------------------------------------------
    async def _on_poll(self, value: dict[str, Any]) -> None:
        feed = self.feeds.get(value["url"])
        if feed is None:  # removed from the config since it was scheduled
            return
        # A lease that ran out while its request was still on its way brings a
        # second request for the feed: drop it if the feed is being polled here,
        # or was polled since the request was made.
        if feed.url in self._polling:
            return
        self._polling.add(feed.url)
        try:
            state = await self.store.feed_state(feed.url) or FeedState(url=feed.url)
            requested = datetime.fromisoformat(value["at"]) if "at" in value else None
            if requested and state.last_polled_at and state.last_polled_at >= requested:
                log.debug("polled %s already since %s", feed.url, value["at"])
                return
            await self._poll_and_send(feed, state)
        finally:
            self._polling.discard(feed.url)

    async def _poll_and_send(self, feed: Feed, state: FeedState) -> None:
        before = state
        items, state = await self.poll(feed, state)
        log.debug("polled %s: %d new items", feed.url, len(items))
        sent = [await self._send(self.lanes.items, i.fingerprint, i.to_json()) for i in items]
        # The feed's validators advance only once its items are safe on the stream:
        # a crash before this line polls the feed again, unconditionally.
        await asyncio.gather(*sent)
        await self.store.save_feed_state(await self._checked_health(feed, before, state, items))

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
        health = assess(
            after.failures, after.last_new_item_at, after.cadence_s, now, self.health_policy
        )
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

    async def poll(
        self, feed: Feed, state: FeedState | None = None
    ) -> tuple[list[Item], FeedState]:
        """Fetch one feed: its items not seen before, and its new state (not yet saved).

        ``state`` is the feed's stored state when the caller has just read it.
        """
        state = state or await self.store.feed_state(feed.url) or FeedState(url=feed.url)
        assert feed.interval is not None
        now = self.clock()
        outcome = await poll_feed(self.fetcher, self.parser, state, feed.interval, now, self.rng)
        if not outcome.read:  # a 304 or a failure: no items, and the marks stand
            return [], outcome.state
        items = list({item.fingerprint: item for item in outcome.items}.values())
        if feed.name:
            items = [replace(item, feed_title=feed.name) for item in items]
        # the items the feed still carries keep their seen marks (retention)
        fingerprints = [item.fingerprint for item in items]
        unseen = await self.store.carried(feed.url, fingerprints, now, marks_fresh_since(now))
        return [item for item in items if item.fingerprint in unseen], outcome.state

    # -- match ---------------------------------------------------------------
    async def _on_item(self, value: dict[str, Any]) -> None:
        sent = [
            await self._send_alert(pending) for pending in await self.match(Item.from_json(value))
        ]
        # The item is done (acknowledged) only once its alerts are on the stream.
        await asyncio.gather(*sent)

    async def match(self, item: Item) -> list[PendingAlert]:
        """Match an item against the current rules; record it, its story and its
        alerts. Returns the alerts to send now (not those held or in digests)."""
        fields = item.fields()
        fired = [m.fired(fields) for m in self.rulebook.current.match(fields)]
        now = self.clock()
        max_item_age = timedelta(seconds=self.settings.alerts.max_item_age)
        if fired and not is_news(item.published, now, max_item_age):
            # old news a feed still carries (a first start, a new feed): seen, kept
            # for replay, never alerted
            log.info(
                "old news, no alert: %s — %s (published %s, before alerts.max_item_age)",
                item.title,
                ", ".join(f.rule for f in fired),
                f"{item.published:%Y-%m-%d %H:%M} UTC",
            )
            fired = []
        if not fired:
            await self.store.record_item(item, [], now)
            return []
        alerts = alerts_for(item, fired, self.channels.channels)
        # one step that no other worker takes at once: a copy of a story another
        # worker is matching joins it, and the rate limits count both workers'
        async with self.store.serialized() as unit:
            story = await self.stories.assign(item, now, unit)
            plans = await self.dispatcher.plan(alerts, fired, now, ALERT_LEASE, unit)
            ids = await unit.record_item(item, alerts, now, story=story, plans=plans)
        if not ids:
            # Seen before (a redelivery after a worker died between recording the
            # item and sending its alerts), or a copy of a story every channel has
            # heard of: send whatever of this item is still pending, now.
            return await self.store.unsettled_for(item.fingerprint)
        joined = story.story_id != item.fingerprint
        log.info(
            "match: %s — %s%s",
            item.title,
            ", ".join(f.rule for f in fired),
            " (a copy of an earlier story)" if joined else "",
        )
        return [
            PendingAlert(
                id=ids[alert.channel],
                alert=alert,
                attempts=0,
                created_at=now,
                next_attempt_at=plans[alert.channel].not_before,
                last_error=None,
                story=story.story_id,
            )
            for alert in alerts
            # sent now: leased to the notify agent (held and digest rows wait in the outbox)
            if alert.channel in ids and plans[alert.channel] == Plan(not_before=now + ALERT_LEASE)
        ]

    # -- notify ----------------------------------------------------------------
    async def _send_alert(self, pending: PendingAlert) -> Awaitable[Any]:
        # Keyed by item and channel, so one channel's alerts spread over partitions.
        return await self._send(
            self.lanes.alerts,
            pending.alert.key,
            {
                "id": pending.id,
                "attempts": pending.attempts,
                "created": pending.created_at.isoformat(),
                "story": pending.story,
                "alert": pending.alert.to_json(),
            },
        )

    async def _on_alert(self, value: dict[str, Any]) -> None:
        if await self.store.is_settled(value["id"]):
            return  # a redelivered message (a rebalance) about an alert already sent
        now = self.clock()
        created = datetime.fromisoformat(value["created"]) if "created" in value else now
        await self.dispatcher.deliver(
            value["id"],
            Alert.from_json(value["alert"]),
            value.get("attempts", 0),
            created,
            now,
            story=value.get("story"),
        )

    async def prune(self) -> Pruned:
        """Forget what ``retention`` no longer keeps (``monitor.core.retention``):
        item texts, seen items their feed dropped, stories, messages, and
        delivered and dead alerts."""
        if self.stopping:
            return Pruned()
        retention, alerts = self.settings.retention, self.settings.alerts
        cuts = cutoffs(
            self.clock(),
            items=timedelta(seconds=retention.items),
            alerts=timedelta(seconds=retention.alerts),
            story_window=timedelta(seconds=alerts.story_window),
        )
        try:
            pruned = await self.store.prune(cuts)
        except Exception:  # housekeeping: the next tick tries again
            log.exception("retention: pruning failed")
            return Pruned()
        if pruned.total:
            log.info(
                "retention: removed %s (items seen before %s, alerts settled before %s)",
                pruned.describe(),
                f"{cuts.seen_items:%Y-%m-%d %H:%M} UTC",
                f"{cuts.alerts:%Y-%m-%d %H:%M} UTC",
            )
        return pruned

    async def retry_due_alerts(self) -> None:
        """Send again what the outbox holds undelivered and due (after a failure, a
        restart, or the end of quiet hours), and every digest that is due."""
        if self.stopping:
            return
        with self._busy():
            now = self.clock()
            claimed = await self.store.claim_alerts(now, now + ALERT_LEASE)
            # planned again: quiet hours may have begun, or the rate limit been reached
            async with self.store.serialized() as unit:
                due = await self.dispatcher.replan(claimed, now, ALERT_LEASE, unit)
            await asyncio.gather(*[await self._send_alert(pending) for pending in due])
            await self.dispatcher.send_digests(now)
