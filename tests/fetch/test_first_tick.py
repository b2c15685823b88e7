"""At start the scheduler's first tick goes first: the prune a service does as it
starts (to catch up after a downtime) waits until the first polls are asked
for, instead of holding the store while they are claimed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from monitor.pipeline import Stages
from monitor.pipeline.scheduling import PollRequest
from monitor.stream.agents import Agents
from monitor.stream.app import Lanes

NOW = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


class App:
    """What ``Agents.register`` asks of a Faust app: the tasks it starts with."""

    def __init__(self) -> None:
        self.tasks: list[Callable[[], Awaitable[None]]] = []

    def task(self, fun: Callable[[], Awaitable[None]]) -> None:
        self.tasks.append(fun)

    def timer(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        return lambda fun: fun

    def agent(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        return lambda fun: fun


async def test_the_prune_at_start_waits_for_the_first_tick() -> None:
    events: list[str] = []
    ticking, claimed, pruned = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def due(ahead_s: float) -> list[PollRequest]:
        events.append("tick")
        ticking.set()
        await claimed.wait()  # the claims take a while
        events.append("claimed")
        return []

    async def prune() -> None:
        events.append("prune")
        pruned.set()

    scheduling = SimpleNamespace(clock=lambda: NOW, due=due, next_due_at=None)
    stages = cast(
        Stages,
        SimpleNamespace(scheduling=scheduling, pruning=SimpleNamespace(prune=prune), pushing=None),
    )
    lanes = cast(Lanes, SimpleNamespace(poll_requests=None, items=None, alerts=None))
    app = App()
    Agents(stages, lanes, embedded=True).register(cast(Any, app))

    tasks = [asyncio.create_task(start()) for start in reversed(app.tasks)]  # prune first
    try:
        await asyncio.wait_for(ticking.wait(), 5)
        for _ in range(10):  # turns of the loop: what was ready to run has run
            await asyncio.sleep(0)
        assert events == ["tick"]
        claimed.set()
        await asyncio.wait_for(pruned.wait(), 5)
        assert events == ["tick", "claimed", "prune"]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
