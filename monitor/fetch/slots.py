"""Fair slots for fetches: a feed that takes little never queues behind slow ones.

When more polls want a connection than there are (``fetch.concurrency``, or
``fetch.per_host`` for one host), first come, first served lets a few hundred
slow or dead feeds, each holding a slot until its timeout, make a feed that
answers in milliseconds wait for all of them. Ordering by wall-clock deadlines
("arrival plus expected time") does no better under lasting overload: every
waiter soon waits longer than it expects to take, and the line is first come,
first served again. Two things keep a quick feed quick:

- The slots are shared out by use (self-clocked fair queueing): each flow (a
  feed, or a host) is charged the slot time its fetches are expected to take,
  and the waiter whose flow has used the least, counting this fetch, goes
  first. The charge is in virtual time, which advances only as slots are
  handed out, so a flow's place does not depend on how long the line has been.
  A feed that polls often but answers in milliseconds has used almost nothing
  and goes ahead of the slow ones however many wait; a slow feed's turn still
  comes, since each fetch served ahead of it raises the virtual time (it is
  passed only by fetches that together take about as long as it does, not
  again and again by the same quick feed, whose charges add up); a flow idle
  for a while starts level with the others, not ahead by what it did not use.
- Only fetches known to be quick (the feed's last one took at most
  ``QUICK_S``) may hold the last eighth of the slots: with every slot held by
  feeds that take seconds to answer, even the first in line would wait
  seconds for one to come free. A feed never fetched is not known to be quick.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator

# A fetch expected to take longer than this is slow: it may not take the reserve.
QUICK_S = 1.0
# what a fetch of a feed never fetched is charged
FIRST_FETCH_S = 1.0
RESERVE_SHARE = 8  # one slot in this many is kept for quick fetches

Waiter = tuple[float, int, asyncio.Future[None]]  # tag, arrival, granted


class FairSlots:
    """At most ``size`` holders at once; waiters served by their flows' use."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._free = size
        self._reserve = size // RESERVE_SHARE
        self._quick: list[Waiter] = []  # heaps, by tag
        self._slow: list[Waiter] = []
        self._order = itertools.count()  # equal tags: first come first
        self._virtual = 0.0  # the tag of the latest fetch handed a slot
        self._finish: dict[str, float] = {}  # each flow's latest tag

    @contextlib.asynccontextmanager
    async def slot(self, flow: str, expected_s: float | None) -> AsyncIterator[None]:
        """Hold a slot for a fetch of ``flow`` expected to take ``expected_s``
        seconds (None: not known, a feed never fetched)."""
        cost = FIRST_FETCH_S if expected_s is None else max(expected_s, 0.0)
        # A flow's tag: where its use so far ends (or now, if it is behind),
        # plus this fetch. Charged at once, so a flow's next fetch queues behind.
        tag = max(self._virtual, self._finish.get(flow, 0.0)) + cost
        self._finish[flow] = tag
        await self._acquire(tag, slow=expected_s is None or expected_s > QUICK_S)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, tag: float, *, slow: bool) -> None:
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._slow if slow else self._quick, (tag, next(self._order), granted))
        self._hand_out()
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # handed over just as the waiter gave up: pass it on
            raise

    def _release(self) -> None:
        self._free += 1
        self._hand_out()

    def _hand_out(self) -> None:
        """Free slots to the waiters with the lowest tags that may take them."""
        while self._free > 0:
            for line in (self._quick, self._slow):
                while line and line[0][2].done():  # waiters that gave up
                    heapq.heappop(line)
            quick = self._quick[0] if self._quick else None
            slow = self._slow[0] if self._slow and self._free > self._reserve else None
            if quick is None and slow is None:
                return
            first_quick = slow is None or (quick is not None and quick[:2] < slow[:2])
            tag, _, granted = heapq.heappop(self._quick if first_quick else self._slow)
            self._free -= 1
            self._virtual = max(self._virtual, tag)
            granted.set_result(None)
