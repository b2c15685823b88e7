"""End to end: `newsmon run` forgets item texts older than `retention.items` as
soon as it starts, keeps the newer ones and the texts of what it polls, and
never forgets that an item was seen."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.items import Item
from monitor.store import open_store
from tests.e2e.conftest import Service
from tests.feedserver import rss

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC)
REMOVED = re.compile(r"retention: removed the texts of (\d+) items seen before ")


def old_news(n: int, days_ago: float) -> Item:
    return Item(
        fingerprint=f"archive-{n}",
        feed="https://feeds.bbci.co.uk/news/world/rss.xml",
        feed_title="BBC World",
        title=f"Archive story {n}",
        summary="Ministers met in Brussels.",
        content="",
        link=f"https://www.bbc.co.uk/news/world-{n}",
        published=None,
    )


async def fill(storage: str, items: list[tuple[Item, float]]) -> None:
    store = await open_store(storage)
    try:
        for item, days_ago in items:
            await store.record_item(item, [], NOW - timedelta(days=days_ago))
    finally:
        await store.close()


async def stored(storage: str) -> tuple[list[str], set[str]]:
    """The fingerprints whose text is kept, and which of the archive are unseen."""
    store = await open_store(storage)
    try:
        since = NOW - timedelta(days=365)
        kept = [s.item.fingerprint async for chunk in store.items_since(since) for s in chunk]
        return kept, await store.unseen([f"archive-{n}" for n in range(8)])
    finally:
        await store.close()


def own_rules(service: Service) -> None:
    """One rule of our own: this test is about retention, not the shipped pack."""
    for path in service.rules.iterdir():
        path.unlink()
    (service.rules / "watch.yaml").write_text("rules:\n  - name: drills\n    match: drill*\n")


def test_the_service_prunes_old_item_texts_when_it_starts(service: Service) -> None:
    storage = f"sqlite:///{service.root / 'data' / 'newsmon.db'}"
    own_rules(service)
    service.options["retention"] = {"items": "30d"}
    service.write_config(["/world.rss"])
    ages = [45, 40, 33, 31, 31, 29, 10, 0.5]  # five beyond 30 days
    asyncio.run(fill(storage, [(old_news(n, age), age) for n, age in enumerate(ages)]))
    fresh = {"title": "Taiwan holds drills", "link": "https://news.example.org/d", "guid": "d1"}
    service.feeds.set_feed("/world.rss", rss([fresh]))

    service.start()
    service.wait_log("retention: removed the texts of 5 items")
    service.wait_polls("/world.rss", 1)
    assert service.stop() == 0

    kept, unseen = asyncio.run(stored(storage))
    assert kept[:3] == ["archive-5", "archive-6", "archive-7"]
    assert len(kept) == 4 and kept[3] != "archive-0"  # the item just polled, kept too
    assert unseen == set()  # pruned texts, items still seen: nothing alerts again
    assert [int(n) for n in REMOVED.findall(service.output())] == [5]
