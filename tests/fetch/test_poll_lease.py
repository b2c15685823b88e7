"""A feed's poll is the claiming worker's for its lease (config ``fetch.lease``):
one lost with its worker is made again once the lease is over, not before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.pipeline.scheduling import Scheduling
from monitor.store import Store, open_store
from tests.fetch.test_scheduler_wake import Clock

NOW = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
FEED = "https://news.example.org/world.rss"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(f"sqlite:///{tmp_path / 'newsmon.db'}")
    try:
        yield store
    finally:
        await store.close()


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
