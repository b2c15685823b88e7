"""Scheduling: the feeds that are due, each claimed for one poll.

The claim is atomic in the store, so of several workers asking at once one
gets each due feed (and in a distributed deployment only the leader asks). A
claim is a lease: a request lost on its way, with a leader that died, is made
again once the lease ends; one that arrives twice is dropped by the fetching
stage.

No more polls start than the request budget allows (``fetch.max_requests_per_second``):
when more feeds are due, the most overdue in their own intervals go first and
the others wait for the next tick (``monitor.core.schedule``).

A scheduler that ticks every so often asks a little ahead, to the next tick:
``next_due_at`` says when the first feed due before then is, so it can wake
for it (a feed polled every second would otherwise wait up to a whole tick).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.core.schedule import RequestBudget, most_overdue_first
from monitor.pipeline.feedbook import FeedBook
from monitor.store import Store

# A poll request's lease is twice the fetch timeout, and at least this: long
# enough for the request to cross the stream and the fetch to finish, short
# enough that a request lost with a dead leader is soon sent again.
MIN_POLL_LEASE = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class PollRequest:
    """Poll this feed: claimed at ``at``, so a poll since then makes it a repeat."""

    url: str
    at: datetime | None  # None: a request from before requests were stamped
    # the claim's lease end, where workers share the feeds: the poll is taken
    # with it (Store.take_poll), so one worker fetches, however often it is handed out
    until: datetime | None = None


class Scheduling:
    def __init__(
        self,
        store: Store,
        feeds: Sequence[str] | FeedBook,  # a FeedBook: read again as it changes
        fetch_timeout: float,
        clock: Callable[[], datetime],
        budget: RequestBudget | None = None,  # None: as many as are due
        *,
        shared: bool = False,  # several workers: requests carry their lease end
        lease: float | None = None,  # seconds (config fetch.lease); None: as below
    ) -> None:
        self.store = store
        self.book = feeds if isinstance(feeds, FeedBook) else None
        self.feeds = list(feeds)
        self.lease = (
            timedelta(seconds=lease)
            if lease is not None
            else max(MIN_POLL_LEASE, timedelta(seconds=2 * fetch_timeout))
        )
        self.clock = clock
        self.budget = budget
        self.shared = shared
        # from the last call of due(): the first feed due within its ahead_s
        self.next_due_at: datetime | None = None

    async def due(self, ahead_s: float = 0.0) -> list[PollRequest]:
        """Claim the feeds that are due now, the most overdue first, as many as
        the budget allows: a poll request for each one won. ``next_due_at`` is
        then when the next feed is due, if that is within ``ahead_s`` seconds."""
        if self.book is not None:  # feeds added or removed at run time
            await self.book.refresh_if_stale()
            self.feeds = self.book.urls
        now = self.clock()
        listed = await self.store.due_feeds(self.feeds, now + timedelta(seconds=ahead_s))
        later = [f.next_poll_at for f in listed if f.next_poll_at and f.next_poll_at > now]
        self.next_due_at = min(later, default=None)
        due = most_overdue_first(
            [f for f in listed if f.next_poll_at is None or f.next_poll_at <= now], now
        )
        allowed = len(due) if self.budget is None else self.budget.available(now)
        chosen = due[:allowed]
        # claimed at once, so the store commits the claims together
        won = await asyncio.gather(
            *(self.store.claim_feed(feed.url, now, now + self.lease) for feed in chosen)
        )
        until = now + self.lease if self.shared else None
        requests = [
            PollRequest(feed.url, now, until) for feed, ok in zip(chosen, won, strict=True) if ok
        ]
        if self.budget is not None:
            self.budget.spend(len(requests), now)
        return requests
