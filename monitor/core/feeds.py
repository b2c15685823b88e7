"""A feed as newsmon remembers it between polls.

``monitor.fetch.poll`` makes the next state from a poll (validators, schedule,
failures: ``monitor.core.schedule``); the fetching stage adds cadence and
health (``monitor.core.health``) and the learned interval; the store keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.core.health import Health


@dataclass(frozen=True, slots=True)
class FeedState:
    """What we remember of one feed between polls."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    next_poll_at: datetime | None = None  # UTC; None = due now
    last_polled_at: datetime | None = None
    failures: int = 0  # consecutive failed polls
    last_status: int | None = None
    last_error: str | None = None
    last_new_item_at: datetime | None = None  # when a poll last brought a new item
    cadence_s: float | None = None  # the feed's usual gap between new items, seconds
    health: Health = "ok"  # the state last alerted on: one alert per change
    # adaptive polling (monitor.core.schedule): the usual gap between its items
    # as published, which its interval is learned from, and how long its last
    # reading said it stays fresh (<ttl>, sy:updatePeriod), which a 304 does not repeat
    item_gap_s: float | None = None
    ttl_s: float | None = None


@dataclass(frozen=True, slots=True)
class DueFeed:
    """A feed whose poll is due, with what says how overdue it is."""

    url: str
    next_poll_at: datetime | None  # None: never given a time
    last_polled_at: datetime | None  # None: never polled


@dataclass(frozen=True, slots=True)
class ManagedFeed:
    """A feed added at run time (``newsmon feeds add``, the API), kept in the
    store beside the config's feeds."""

    url: str
    name: str | None = None
    interval_s: float | None = None  # None: learned from its publishing; else pinned
    added_at: datetime | None = None  # UTC; set by whoever adds it
