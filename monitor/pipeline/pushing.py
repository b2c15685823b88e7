"""Pushing: WebSub subscriptions kept with the hubs feeds advertise, and the
content hubs push, taken into the pipeline like a poll's.

- After every poll that read a feed, the hub it advertises (if any) is
  subscribed to, a new hub replaces an old one, and a feed that stopped
  advertising one is unsubscribed (``after_poll``); so is a feed that left
  the config (``maintain``, at start).
- ``maintain`` (a timer) sends the requests that are due: new subscriptions,
  renewals at 80 % of the lease, retries with backoff, unsubscriptions.
- ``verify`` answers a hub's verification of intent: the challenge for what
  we asked, 404 for anything else; a denial brings the feed's usual polling
  back at once.
- ``receive`` takes a hub's POST: a message whose signature is not the HMAC
  of its body under the subscription's secret is ignored (and still answered
  2xx, as the spec allows, so a forger learns nothing); a genuine one is
  parsed like a fetched document and its items go the way a poll's go
  (``Fetching.pushed``): only those never seen, on the items lane.
- While a subscription is live the feed is still polled, as a safety net,
  every ``websub.poll_interval`` (never more often than its own interval) and
  at the latest when the lease ends, so a lapsed lease brings the usual
  polling back.

Every decision is ``monitor.core.websub``'s; every write is made only on the
revision it was decided from (``Store.swap_subscription``), so workers, and a
verification racing a renewal, never undo each other's changes.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from monitor.config import Feed, WebSub
from monitor.core.feeds import FeedState
from monitor.core.schedule import next_poll
from monitor.core.websub import (
    Discovery,
    Subscription,
    after_discovery,
    callback_url,
    denied,
    poll_by,
    polled_every,
    removed,
    request_for,
    requested,
    signature_valid,
    verify_intent,
)
from monitor.fetch.parse import FeedError, FeedParser
from monitor.fetch.poll import PollOutcome
from monitor.pipeline.fetching import Fetching, SendItems
from monitor.store import Store

log = logging.getLogger("newsmon.websub")


class Hub(Protocol):
    """What the stage needs of ``monitor.push.hub.HubClient``."""

    async def request(
        self,
        hub: str,
        mode: str,
        topic: str,
        callback: str,
        *,
        secret: str,
        lease_s: float | None = None,
    ) -> str | None: ...


def new_tokens() -> tuple[str, str]:
    """A callback id (a URL path segment nobody can guess) and a hub.secret."""
    return secrets.token_urlsafe(18), secrets.token_hex(32)


class Pushing:
    def __init__(
        self,
        store: Store,
        fetching: Fetching,
        parser: FeedParser,
        hub: Hub,
        options: WebSub,
        clock: Callable[[], datetime],
        tokens: Callable[[], tuple[str, str]] = new_tokens,
        rng: random.Random | None = None,
    ) -> None:
        assert options.callback is not None, "WebSub is off without websub.callback"
        self.store = store
        self.fetching = fetching
        self.parser = parser
        self.hub = hub
        self.callback = options.callback
        self.lease = options.lease
        self.poll_interval = options.poll_interval
        self.clock = clock
        self.tokens = tokens
        self.rng = rng or random.Random()
        self._tidied = False  # subscriptions of feeds no longer configured: dropped once

    # -- after a poll (called by the fetching stage) ------------------------------
    async def after_poll(self, feed: Feed, outcome: PollOutcome, now: datetime) -> FeedState:
        """The feed's state after a poll, its next poll put off while a hub pushes
        its updates; and, when the poll read the feed, its hub subscribed to."""
        current = await self.store.subscription(feed.url)
        if outcome.read:
            current = await self._discovered(feed.url, current, outcome.discovery, now)
        state = outcome.state
        lease_end = poll_by(current, now)
        if lease_end is None or not outcome.ok:  # not pushed, or failing: the usual plan
            return state
        assert feed.interval is not None
        every = polled_every(feed.interval, current, now, self.poll_interval)
        # Never sooner than the poll's own plan; at the latest when the lease ends.
        rare = min(next_poll(now, every, self.rng), lease_end)
        if state.next_poll_at is None or rare > state.next_poll_at:
            state = replace(state, next_poll_at=rare)
        return state

    async def _discovered(
        self, feed: str, current: Subscription | None, found: Discovery | None, now: datetime
    ) -> Subscription | None:
        wanted = after_discovery(current, found, feed, now, self.tokens())
        if wanted is None or not await self.store.swap_subscription(current, wanted):
            return current
        if wanted.state == "unsubscribing":
            log.info("websub: %s no longer names a hub; unsubscribing", feed)
        else:
            log.info(
                "websub: %s is pushed by %s (topic %s); subscribing", feed, wanted.hub, wanted.topic
            )
        return replace(wanted, revision=0 if current is None else current.revision + 1)

    # -- the timer --------------------------------------------------------------
    async def maintain(self) -> None:
        """Send the requests that are due to the hubs (at first, unsubscribe the
        feeds that left the config)."""
        now = self.clock()
        if not self._tidied:
            await self._drop_removed(self.fetching.feeds, now)
            self._tidied = True
        for sub in await self.store.due_subscriptions(now):
            await self._request(sub, now)

    async def _drop_removed(self, feeds: Collection[str], now: datetime) -> None:
        for sub in await self.store.subscriptions():
            if sub.feed in feeds:
                continue
            leaving = removed(sub, now)
            if leaving is not None and await self.store.swap_subscription(sub, leaving):
                log.info("websub: %s left the config; unsubscribing from %s", sub.feed, sub.hub)

    async def _request(self, sub: Subscription, now: datetime) -> None:
        claimed = requested(sub, now)
        if claimed is None:  # an unsubscription the hub never confirmed
            if await self.store.swap_subscription(sub, None):
                log.info("websub: gave up unsubscribing %s from %s", sub.feed, sub.hub)
            return
        if not await self.store.swap_subscription(sub, claimed):
            return  # another worker's, or changed since it was read
        claimed = replace(claimed, revision=sub.revision + 1)
        mode = request_for(claimed)
        error = await self.hub.request(
            claimed.hub,
            mode,
            claimed.topic,
            callback_url(self.callback, claimed.callback_id),
            secret=claimed.secret,
            lease_s=self.lease,
        )
        if error is None:
            log.debug("websub: asked %s to %s %s", claimed.hub, mode, claimed.topic)
            return
        log.warning(
            "websub: %s refused to %s %s: %s (asking again %s)",
            claimed.hub,
            mode,
            claimed.topic,
            error,
            claimed.next_action_at.isoformat(timespec="seconds")
            if claimed.next_action_at
            else "never",
        )
        await self.store.swap_subscription(claimed, replace(claimed, last_error=error))

    # -- the callback ------------------------------------------------------------
    async def verify(self, callback_id: str, query: Mapping[str, str]) -> tuple[int, str]:
        """A hub's GET on the callback: (status, body) to answer."""
        mode, topic = query.get("hub.mode", ""), query.get("hub.topic", "")
        sub = await self.store.subscription_by_callback(callback_id)
        now = self.clock()
        if mode == "denied":
            verdict = denied(sub, topic, query.get("hub.reason"), now)
            if sub is None or verdict.save is None:
                return 404, ""
            if await self.store.swap_subscription(sub, verdict.save):
                log.warning(
                    "websub: %s denied the subscription to %s: %s; polling it as usual",
                    sub.hub,
                    sub.feed,
                    verdict.save.last_error,
                )
                await self.store.poll_soon(sub.feed, now)
            return 200, ""
        challenge = query.get("hub.challenge")
        if not challenge:
            return 400, "hub.challenge missing"
        verdict = verify_intent(sub, mode, topic, query.get("hub.lease_seconds"), now, self.lease)
        if not verdict.accept or sub is None:
            log.info("websub: refused a verification to %s %s (not ours)", mode or "?", topic)
            return 404, ""
        if not await self.store.swap_subscription(sub, None if verdict.forget else verdict.save):
            return 404, ""  # changed meanwhile: the hub asks again, or we do
        if verdict.forget:
            log.info("websub: unsubscribed %s from %s", sub.feed, sub.hub)
        elif verdict.save is not None and verdict.save.lease_expires_at is not None:
            log.info(
                "websub: %s pushes %s until %s",
                sub.hub,
                sub.feed,
                verdict.save.lease_expires_at.isoformat(timespec="seconds"),
            )
        return 200, challenge

    async def receive(
        self,
        callback_id: str,
        body: bytes,
        content_type: str | None,
        signature: str | None,
        send: SendItems,
    ) -> int:
        """A hub's POST on the callback: its new items sent on; the status to answer."""
        sub = await self.store.subscription_by_callback(callback_id)
        if sub is None:
            return 410  # Gone: the hub may drop a subscription we no longer have
        if not signature_valid(sub.secret, signature, body):
            log.warning(
                "websub: ignored a push for %s: %s",
                sub.feed,
                "bad signature" if signature else "no signature",
            )
            return 202
        try:
            parsed = await self.parser.parse(
                body, sub.feed, base_url=sub.topic, content_type=content_type
            )
        except FeedError as exc:
            log.warning("websub: a push for %s is not a feed: %s", sub.feed, exc.message)
            return 400
        new = await self.fetching.pushed(sub.feed, parsed.items, send)
        log.info("websub: pushed %s: %d new items", sub.feed, new)
        return 200
