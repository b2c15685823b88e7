"""Fair slots: when polls wait for a connection, a quick feed does not queue
behind slow ones, and a slow one's turn still comes."""

from __future__ import annotations

import asyncio

from monitor.fetch.slots import FairSlots


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def served_in_order(
    slots: FairSlots, clock: Clock, waiters: list[tuple[str, float, float]]
) -> list[str]:
    """One holder holds the only slot while ``waiters`` (name, arrives at,
    expected seconds) line up; then the order they are served in."""
    order: list[str] = []
    hold = asyncio.Event()

    async def holder() -> None:
        async with slots.slot(0.1):
            await hold.wait()

    async def waiter(name: str, expected: float) -> None:
        async with slots.slot(expected):
            order.append(name)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    tasks = []
    for name, at, expected in waiters:
        clock.now = at
        tasks.append(asyncio.create_task(waiter(name, expected)))
        await asyncio.sleep(0)  # in line now
    hold.set()
    await asyncio.gather(first, *tasks)
    return order


async def test_a_quick_feed_goes_ahead_of_slow_ones_that_came_just_before() -> None:
    clock = Clock()
    order = await served_in_order(
        FairSlots(1, clock),
        clock,
        [("slow-1", 0.0, 10.0), ("slow-2", 0.1, 10.0), ("quick", 0.2, 0.05)],
    )
    assert order == ["quick", "slow-1", "slow-2"]


async def test_a_slow_feed_that_waited_its_time_is_not_passed_again() -> None:
    clock = Clock()
    order = await served_in_order(
        FairSlots(1, clock), clock, [("slow", 0.0, 5.0), ("quick", 6.0, 0.05)]
    )
    assert order == ["slow", "quick"]


async def test_a_waiter_that_gives_up_passes_its_turn_on() -> None:
    slots = FairSlots(1)
    async with slots.slot(1.0):
        gave_up = asyncio.create_task(slots._acquire(1.0))
        then = asyncio.create_task(slots._acquire(2.0))
        await asyncio.sleep(0)
        gave_up.cancel()
        await asyncio.sleep(0)
    await asyncio.wait_for(then, 1)  # the slot went to the next in line
    assert gave_up.cancelled()
