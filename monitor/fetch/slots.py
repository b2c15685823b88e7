"""Fair slots for fetches: a quick feed never queues behind slow ones.

When more polls want a connection than there are (``fetch.concurrency``, or
``fetch.per_host`` for one host), first come, first served lets a few hundred
slow or dead feeds, each holding a slot until its timeout, make a feed that
answers in milliseconds wait for all of them. Instead the waiting poll that
would finish first goes first: each waits in order of when it came plus how
long its feed took last time. A quick feed goes ahead of slow ones that came
just before it, and a slow one's turn still comes: once it has waited as long
as it is expected to take, no newcomer goes ahead of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator, Callable


class FairSlots:
    """At most ``size`` holders at once; waiters served by expected finish."""

    def __init__(self, size: int, clock: Callable[[], float] | None = None) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._free = size
        self._clock = clock
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []  # a heap
        self._order = itertools.count()  # equal priorities: first come first

    @contextlib.asynccontextmanager
    async def slot(self, expected_s: float) -> AsyncIterator[None]:
        """Hold a slot for a fetch expected to take ``expected_s`` seconds."""
        await self._acquire(expected_s)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, expected_s: float) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        loop = asyncio.get_running_loop()
        now = self._clock() if self._clock is not None else loop.time()
        granted: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiting, (now + expected_s, next(self._order), granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # handed over just as the waiter gave up: pass it on
            raise

    def _release(self) -> None:
        while self._waiting:
            *_, granted = heapq.heappop(self._waiting)
            if not granted.done():  # a waiter that gave up is skipped
                granted.set_result(None)
                return
        self._free += 1
