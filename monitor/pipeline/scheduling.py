"""Scheduling: the feeds that are due, each claimed for one poll.

The claim is atomic in the store, so of several workers asking at once one
gets each due feed (and in a distributed deployment only the leader asks). A
claim is a lease: a request lost on its way, with a leader that died, is made
again once the lease ends; one that arrives twice is dropped by the fetching
stage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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


class Scheduling:
    def __init__(
        self,
        store: Store,
        feeds: Sequence[str],
        fetch_timeout: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.feeds = list(feeds)
        self.lease = max(MIN_POLL_LEASE, timedelta(seconds=2 * fetch_timeout))
        self.clock = clock

    async def due(self) -> list[PollRequest]:
        """Claim every feed that is due now: a poll request for each one won."""
        now = self.clock()
        return [
            PollRequest(url, now)
            for url in await self.store.due_feeds(self.feeds, now)
            if await self.store.claim_feed(url, now, now + self.lease)
        ]
