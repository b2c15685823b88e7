"""Retention: what the store forgets, and when, so it stops growing.

``retention: {items: 30d, alerts: 90d}`` in the config. Every worker prunes,
in small batches, once at start and hourly (``cutoffs`` says up to when):

- item texts (``newsmon replay``): ``items`` after the item was first seen;
- seen marks (what keeps an item from alerting twice): ``items`` after a
  poll last found the item in its feed, and only once the feed no longer
  carries it (below);
- story members (copies of a story, its sources): ``items`` after they were
  seen, or the story window when that is longer; their rows in the story
  index (what a new item is looked up by) at the end of the story window;
- messages sent (rate limits count them): ``alerts`` after they were sent,
  never sooner than the rate limits' window;
- delivered and dead alerts: ``alerts`` after they were delivered or given
  up. Alerts still to be sent (pending, held, in a digest) are never pruned.

A feed may carry an item for longer than ``items`` (a pinned story, a feed
that rarely changes). Its mark must outlive that, or the item would alert
again as new. So a poll that reads a feed's content refreshes the marks of
the items it found (``last_seen_at``), and notes on the feed that marks
older than ``MARK_REFRESH`` before the poll are of items it no longer
carries. A mark goes only when both hold: it is older than ``items``, and a
later reading of its feed did not have the item. A 304 says nothing changed,
so it leaves the marks as they are: still carried.

Refreshing only marks older than ``MARK_REFRESH`` keeps a feed polled every
few minutes from rewriting each of its rows at every poll.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from monitor.core.policy import RATE_WINDOW

# A seen mark is rewritten at most this often while its feed carries the item.
MARK_REFRESH = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Rows from strictly before these times may go."""

    item_texts: datetime  # first seen before
    seen_items: datetime  # last found in their feed before (and no longer in it)
    story_items: datetime  # seen before
    story_bands: datetime  # story items seen before: out of the story window
    messages: datetime  # sent before
    alerts: datetime  # delivered, or given up, before


def cutoffs(
    now: datetime,
    *,
    items: timedelta,
    alerts: timedelta,
    story_window: timedelta,
) -> Cutoffs:
    """What may be pruned at ``now`` under ``retention.items`` and
    ``retention.alerts``. The story index reads a story's members back over
    ``story_window``, and rate limits count messages over ``RATE_WINDOW``:
    neither loses a row it still needs, however short the retention."""
    return Cutoffs(
        item_texts=now - items,
        seen_items=now - items,
        story_items=now - max(items, story_window),
        story_bands=now - story_window,
        messages=now - max(alerts, RATE_WINDOW),
        alerts=now - alerts,
    )


def marks_fresh_since(now: datetime) -> datetime:
    """After a poll at ``now`` that read its feed, every item the feed carries
    has a mark from this time on: older ones were refreshed to ``now``."""
    return now - MARK_REFRESH


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows one round of pruning removed, by what they were."""

    item_texts: int = 0
    seen_items: int = 0
    story_items: int = 0
    story_bands: int = 0  # rows of the story index, some 65 an item
    messages: int = 0
    alerts: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def describe(self) -> str:
        """``"5 item texts, 2 seen items, 1 alert"``: the kinds that lost rows."""
        parts = []
        for f in fields(self):
            count = getattr(self, f.name)
            if count:
                noun = f.name.replace("_", " ")
                parts.append(f"{count} {noun if count != 1 else noun.removesuffix('s')}")
        return ", ".join(parts) or "nothing"
