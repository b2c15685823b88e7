"""Matching: the current rules over a batch of items; the items, their stories
and their alerts recorded; the alerts to send now handed back.

- Items no rule fires for are most of the news: they are recorded as seen
  (with their texts, for replay) all in one transaction.

- Old news (published more than ``alerts.max_item_age`` before it is first
  seen: a first start, a feed just added) is recorded as seen and kept for
  replay, and never alerts (``monitor.core.alerts.is_news``).
- The story is joined, each channel's alert planned (now, held, in a digest:
  ``Dispatcher.plan``) and everything recorded in one ``Store.serialized``
  step, which no other worker takes at once: a copy of a story matched on
  another worker joins it, and the rate limits count every worker's alerts.
- A rule muted from the dashboard (``monitor.core.marks``) is left out of
  what an item fired until its mute ends; an item that only muted rules fire
  for is recorded as quiet.
- At least once: an item seen before (redelivered after a worker died between
  recording it and sending its alerts) hands back whatever of it is still to
  be sent, and records nothing again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from monitor.core.alerts import Alert, Channel, Fired, alerts_for, is_news
from monitor.core.items import Item
from monitor.core.marks import unmuted
from monitor.core.observe import NO_OBSERVER, Observer
from monitor.core.outbox import ALERT_LEASE, PendingAlert, Plan
from monitor.core.stories import StoryEntry
from monitor.notify.dispatch import Dispatcher
from monitor.pipeline.stories import StoryBook
from monitor.rules.early import EarlyMatches, fired_for
from monitor.rules.rulebook import Rulebook
from monitor.store import Store

log = logging.getLogger("newsmon.pipeline")


class _Recorded(NamedTuple):
    """A firing item as its serialized step recorded it."""

    item: Item
    fired: list[Fired]
    alerts: list[Alert]
    story: StoryEntry | None  # None: seen before, so not recorded again
    plans: dict[str, Plan]
    ids: dict[str, int]  # the new outbox rows, by channel


class Matching:
    def __init__(
        self,
        store: Store,
        rulebook: Rulebook,
        channels: Sequence[Channel],
        stories: StoryBook,
        dispatcher: Dispatcher,
        max_item_age: timedelta,
        clock: Callable[[], datetime],
        observer: Observer = NO_OBSERVER,
        lease: timedelta = ALERT_LEASE,  # of the alerts it sends at once
        early: EarlyMatches | None = None,
    ) -> None:
        # called once alerts are recorded (the dashboard's stream wakes at once)
        self.on_recorded: list[Callable[[], None]] = []
        self.store = store
        self.rulebook = rulebook
        self.channels = list(channels)
        self.stories = stories
        self.dispatcher = dispatcher
        self.max_item_age = max_item_age
        self.clock = clock
        self.observer = observer
        self.lease = lease
        # what the parser processes found already fired (monitor.rules.early)
        self.early = early if early is not None else EarlyMatches()

    async def match_all(self, items: Sequence[Item]) -> list[PendingAlert]:
        """Match items against the current rules; record them, their stories and
        their alerts. Returns the alerts to send now (not those held or in digests).

        The items no rule fires for (most of them) are recorded together, in
        one transaction; those that fire, in one serialized step."""
        # one rule set for the whole batch, even if reloaded
        rules, digest = self.rulebook.current, self.rulebook.on_disk.digest
        now = self.clock()
        quiet: list[Item] = []
        firing: list[tuple[Item, list[Fired]]] = []
        early = self.early
        for item in items:
            fired = early.take(item, digest)
            if fired is None:  # not matched by the parser, or not with these rules
                fired = fired_for(rules, item)
            if fired and not is_news(item.published, now, self.max_item_age):
                log.info(
                    "old news, no alert: %s — %s (published %s, before alerts.max_item_age)",
                    item.title,
                    ", ".join(f.rule for f in fired),
                    f"{item.published:%Y-%m-%d %H:%M} UTC",
                )
                fired = []
            if fired:
                firing.append((item, fired))
            else:
                quiet.append(item)
        if firing:
            firing = await self._unmuted(firing, quiet, now)
        await self.store.record_quiet(quiet, now)
        if not firing:
            return []
        pending = await self._record_alerting(firing)
        for _, fired in firing:  # once recorded: a batch that failed is matched again
            for f in fired:
                self.observer.rule_matched(f.rule)
        return pending

    async def _unmuted(
        self, firing: list[tuple[Item, list[Fired]]], quiet: list[Item], now: datetime
    ) -> list[tuple[Item, list[Fired]]]:
        """The firing items less their muted rules (read from the store, so a
        mute made on any worker's dashboard holds on every worker); those only
        muted rules fired for join ``quiet``."""
        muted = {mute.rule for mute in await self.store.mutes(now)}
        if not muted:
            return firing
        kept: list[tuple[Item, list[Fired]]] = []
        for item, fired in firing:
            left = unmuted(fired, muted)
            if len(left) < len(fired):
                log.info(
                    "muted, no alert for %s: %s",
                    ", ".join(f.rule for f in fired if f.rule in muted),
                    item.title,
                )
            if left:
                kept.append((item, left))
            else:
                quiet.append(item)
        return kept

    async def _record_alerting(
        self, firing: Sequence[tuple[Item, list[Fired]]]
    ) -> list[PendingAlert]:
        """The firing items in one serialized step: each joins its story and its
        alerts are planned and enqueued, seeing the ones before it. What every
        item writes (seen, its text, its story) is written for all at once."""
        recorded: list[_Recorded] = []
        async with self.store.serialized() as unit:
            # The time is read inside the step: the steps run one after another,
            # so what an earlier one leased to send now (until its now + the
            # lease) is within this one's count of alerts going out.
            now = self.clock()
            new = await unit.mark_seen([item for item, _ in firing], now)
            stories = self.stories.step(unit, now)
            kept: list[tuple[Item, StoryEntry | None]] = []
            taken: set[str] = set()
            for item, fired in firing:
                if item.fingerprint in taken:  # twice in the batch: its alerts are on their way
                    continue
                taken.add(item.fingerprint)
                if item.fingerprint not in new:  # seen before
                    recorded.append(_Recorded(item, fired, [], None, {}, {}))
                    continue
                alerts = alerts_for(item, fired, self.channels)
                joins = await stories.assign(item)
                plans = await self.dispatcher.plan(alerts, fired, now, self.lease, unit)
                ids = await unit.enqueue(item, alerts, now, story_id=joins.story_id, plans=plans)
                kept.append((item, joins))
                recorded.append(_Recorded(item, fired, alerts, joins, plans, ids))
            await unit.keep(kept, now)
        if any(r.ids for r in recorded):
            for listener in self.on_recorded:
                listener()
        pending: list[PendingAlert] = []
        for item, fired, alerts, story, plans, ids in recorded:
            if not ids:
                # Seen before, or a copy of a story every channel has heard of:
                # send whatever of this item is still pending, now.
                pending += await self.store.unsettled_for(item.fingerprint)
                continue
            assert story is not None  # recorded now
            joined = story.story_id != item.fingerprint
            log.info(
                "match: %s — %s%s",
                item.title,
                ", ".join(f.rule for f in fired),
                " (a copy of an earlier story)" if joined else "",
            )
            pending += [
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
                if alert.channel in ids and plans[alert.channel].sends_now
            ]
        return pending
