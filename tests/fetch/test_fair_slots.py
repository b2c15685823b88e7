"""Fair slots: when polls wait for a connection, a quick feed does not queue
behind slow ones, however long they have waited, and a slow one's turn still
comes; slow fetches never hold the last slots."""

from __future__ import annotations

import asyncio

from monitor.fetch.slots import FairSlots


async def served_in_order(slots: FairSlots, waiters: list[tuple[str, float | None]]) -> list[str]:
    """One holder holds the only slot while ``waiters`` (feed, expected
    seconds) line up in that order; then the order they are served in."""
    order: list[str] = []
    hold = asyncio.Event()

    async def holder() -> None:
        async with slots.slot("holder", 0.1):
            await hold.wait()

    async def waiter(name: str, expected: float | None) -> None:
        async with slots.slot(name, expected):
            order.append(name)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    tasks = []
    for name, expected in waiters:
        tasks.append(asyncio.create_task(waiter(name, expected)))
        await asyncio.sleep(0)  # in line now
    hold.set()
    await asyncio.gather(first, *tasks)
    return order


async def test_a_quick_feed_goes_ahead_of_slow_ones_that_came_before_it() -> None:
    order = await served_in_order(
        FairSlots(1), [("slow-1", 10.0), ("slow-2", 10.0), ("quick", 0.05)]
    )
    assert order == ["quick", "slow-1", "slow-2"]


async def test_feeds_that_waited_longer_than_they_take_do_not_make_a_quick_one_wait() -> None:
    """Lasting overload: the feeds in line have waited longer than they take
    (by the wall clock, the line would be first come, first served again). A
    feed that takes less still goes first."""
    slots = FairSlots(1)
    order: list[str] = []
    hold = asyncio.Event()

    async def fetch(name: str, expected: float) -> None:
        async with slots.slot(name, expected):
            order.append(name)
            await hold.wait()

    earlier = [asyncio.create_task(fetch(f"earlier-{n}", 0.02)) for n in range(5)]
    await asyncio.sleep(0)  # earlier-0 holds the slot, the others wait
    await asyncio.sleep(0.05)  # longer than any of them takes
    quick = asyncio.create_task(fetch("quick", 0.001))
    await asyncio.sleep(0)
    hold.set()
    await asyncio.gather(*earlier, quick)
    assert order.index("quick") == 1, order


async def test_a_slow_feed_is_not_passed_again_and_again_by_the_same_quick_one() -> None:
    """A feed polled over and over is charged for each poll: once its polls
    add up to what the slow one takes, the slow one goes first."""
    slots = FairSlots(1)
    order: list[str] = []
    hold = asyncio.Event()

    async def holder() -> None:
        async with slots.slot("holder", 0.1):
            await hold.wait()

    async def fetch(name: str, expected: float) -> None:
        async with slots.slot(name, expected):
            order.append(name)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    slow = asyncio.create_task(fetch("slow", 1.0))
    await asyncio.sleep(0)
    quick = [asyncio.create_task(fetch("quick", 0.3)) for _ in range(6)]
    await asyncio.sleep(0)
    hold.set()
    await asyncio.gather(first, slow, *quick)
    # the quick feed is charged 0.3, 0.6, 0.9, 1.2...: after three polls it has
    # used more than the slow one's 1.0
    assert order == ["quick"] * 3 + ["slow"] + ["quick"] * 3


async def test_feeds_with_equal_use_are_served_first_come_first_served() -> None:
    order = await served_in_order(FairSlots(1), [("a", 2.0), ("b", 2.0), ("c", 2.0)])
    assert order == ["a", "b", "c"]


async def test_slow_fetches_leave_the_last_slots_to_quick_ones() -> None:
    slots = FairSlots(8)  # one slot kept for fetches known to be quick
    hold = asyncio.Event()
    started: list[str] = []

    async def fetch(name: str, expected: float | None) -> None:
        async with slots.slot(name, expected):
            started.append(name)
            await hold.wait()

    slow = [asyncio.create_task(fetch(f"slow-{n}", 5.0)) for n in range(8)]
    new = asyncio.create_task(fetch("never-fetched", None))
    await asyncio.sleep(0)
    assert sorted(started) == [f"slow-{n}" for n in range(7)]  # the eighth slot is kept
    quick = asyncio.create_task(fetch("quick", 0.01))
    await asyncio.sleep(0)
    assert started[-1] == "quick"  # at once, with seven slow ones and a new one waiting
    hold.set()
    await asyncio.gather(*slow, new, quick)
    assert len(started) == 10


async def test_a_waiter_that_gives_up_passes_its_turn_on() -> None:
    slots = FairSlots(1)
    async with slots.slot("holder", 1.0):
        gave_up = asyncio.create_task(slots._acquire(1.0, slow=False))
        then = asyncio.create_task(slots._acquire(2.0, slow=False))
        await asyncio.sleep(0)
        gave_up.cancel()
        await asyncio.sleep(0)
    await asyncio.wait_for(then, 1)  # the slot went to the next in line
    assert gave_up.cancelled()
