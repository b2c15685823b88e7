"""The scheduler wakes when a feed falls due, not only at its next tick: a feed
polled every second would otherwise wait up to a quarter second more each
time, and be polled some 48 times a minute instead of 60. And a poll it
claimed but that never happened is claimed again when its lease ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from monitor.core.feeds import FeedState
from monitor.pipeline import Stages
from monitor.pipeline.scheduling import Scheduling
from monitor.store import Store, open_store
from monitor.stream.agents import SCHEDULE_EVERY, Agents
from monitor.stream.app import Lanes

NOW = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
BUSY, QUIET = "https://news.example.org/busy.rss", "https://news.example.org/quiet.rss"


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


class Lane:
    """Where the poll requests go: noted, and taken at once."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, *, key: bytes, value: dict[str, Any]) -> asyncio.Future[None]:
        self.sent.append(value)
        taken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        taken.set_result(None)
        return taken


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(f"sqlite:///{tmp_path / 'newsmon.db'}")
    try:
        yield store
    finally:
        await store.close()


async def due_in(store: Store, url: str, seconds: float) -> None:
    await store.save_feed_state(
        FeedState(url=url, next_poll_at=NOW + timedelta(seconds=seconds), last_polled_at=NOW)
    )


def agents(scheduling: Scheduling) -> tuple[Agents, Lane]:
    lane = Lane()
    stages = cast(Stages, SimpleNamespace(scheduling=scheduling))
    lanes = cast(Lanes, SimpleNamespace(poll_requests=lane))
    return Agents(stages, lanes, embedded=True), lane


async def test_the_scheduler_wakes_when_a_feed_falls_due_before_its_next_tick(
    store: Store,
) -> None:
    await due_in(store, BUSY, 0.1)
    await due_in(store, QUIET, 30)
    clock = Clock(NOW)
    service, lane = agents(Scheduling(store, [BUSY, QUIET], 10.0, clock))

    wait = await service.schedule()
    assert lane.sent == []  # nothing due yet
    assert wait == pytest.approx(0.1, abs=0.01)  # not a whole tick

    clock.now += timedelta(seconds=wait)
    await service.schedule()
    assert [request["url"] for request in lane.sent] == [BUSY]


async def test_with_nothing_due_soon_the_scheduler_ticks_at_its_pace(store: Store) -> None:
    await due_in(store, QUIET, 30)
    service, lane = agents(Scheduling(store, [QUIET], 10.0, Clock(NOW)))
    assert await service.schedule() == SCHEDULE_EVERY
    assert lane.sent == []


async def test_asking_ahead_claims_only_the_feeds_due_now(store: Store) -> None:
    await due_in(store, BUSY, -1)
    await due_in(store, QUIET, 0.2)
    scheduling = Scheduling(store, [BUSY, QUIET], 10.0, Clock(NOW))
    requests = await scheduling.due(ahead_s=0.25)
    assert [request.url for request in requests] == [BUSY]
    assert scheduling.next_due_at == NOW + timedelta(seconds=0.2)
    # the feed due soon was not leased: it is claimed when it falls due
    assert (await store.feed_state(QUIET)) == FeedState(
        url=QUIET, next_poll_at=NOW + timedelta(seconds=0.2), last_polled_at=NOW
    )


# A feed's poll is the claiming worker's for its lease (config ``fetch.lease``):
# one lost with its worker is made again once the lease is over, not before.
FEED = "https://news.example.org/world.rss"


async def claimed_again_after(store: Store, fetch_timeout: float, lease: float | None) -> float:
    """Seconds after a claim (whose poll never happened) until the feed is claimed again."""
    clock = Clock(NOW)
    scheduling = Scheduling(store, [FEED], fetch_timeout, clock, shared=True, lease=lease)
    [first] = await scheduling.due()
    assert first.until is not None
    for tenths in range(1, 10 * 60 * 60):
        clock.now = NOW + timedelta(seconds=tenths / 10)
        if await scheduling.due():
            assert clock.now == first.until  # the request said when its lease ends
            return tenths / 10
    raise AssertionError("never claimed again")


async def test_a_lost_poll_is_made_again_when_its_configured_lease_ends(store: Store) -> None:
    assert await claimed_again_after(store, fetch_timeout=3, lease=4) == 4


async def test_without_a_lease_a_poll_is_held_twice_the_fetch_timeout_and_at_least_10s(
    tmp_path: Path,
) -> None:
    for timeout, held in ((30, 60), (2, 10)):
        store = await open_store(f"sqlite:///{tmp_path / f'{timeout}.db'}")
        try:
            assert await claimed_again_after(store, fetch_timeout=timeout, lease=None) == held
        finally:
            await store.close()
