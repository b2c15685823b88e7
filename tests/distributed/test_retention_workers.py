"""Two workers on Kafka and PostgreSQL prune at once, as they start: every old
item text and seen mark goes exactly once, between them, and the newer ones
stay. (tests/store/test_retention.py has every table, on both databases.)"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.items import Item
from monitor.store import open_store
from tests.e2e.conftest import Service, wait_until
from tests.feedserver import rss

pytestmark = pytest.mark.distributed

NOW = datetime.now(UTC)
OLD, RECENT = 1_300, 20  # old ones: a few of the store's 500-row batches
TEXTS = re.compile(r"retention: removed (\d+) item texts?\b")
MARKS = re.compile(r"retention: removed .*?\b(\d+) seen items?\b")


def archived(n: int) -> Item:
    return Item(
        fingerprint=f"archive-{n}",
        feed="https://www.theguardian.com/world/rss",
        feed_title="The Guardian",
        title=f"Archive story {n}",
        summary="Ministers met in Brussels.",
        content="A long day of talks. " * 20,
        link=f"https://www.theguardian.com/world/{n}",
        published=None,
    )


async def fill(storage: str) -> None:
    store = await open_store(storage)
    try:
        for n in range(OLD + RECENT):
            days_ago = 40 - n / 1000 if n < OLD else 2.0  # 40 to 38.7 days, or 2
            await store.record_item(archived(n), [], NOW - timedelta(days=days_ago))
    finally:
        await store.close()


async def kept_since(storage: str, days: float) -> int:
    store = await open_store(storage)
    try:
        return await store.count_items_since(NOW - timedelta(days=days))
    finally:
        await store.close()


def test_two_workers_prune_old_items_once_between_them(cluster: Service) -> None:
    storage = str(cluster.options["storage"])
    for path in cluster.rules.iterdir():  # rules of our own: the shipped pack is beside the point
        path.unlink()
    (cluster.rules / "watch.yaml").write_text("rules:\n  - name: drills\n    match: drill*\n")
    cluster.options["retention"] = {"items": "30d"}
    cluster.write_config(["/world.rss"])
    cluster.feeds.set_feed("/world.rss", rss([]))
    asyncio.run(fill(storage))

    a = cluster.start("a", wait=False)
    b = cluster.start("b", wait=False)
    a.wait_log("newsmon running", timeout=60)
    b.wait_log("newsmon running", timeout=60)
    wait_until(lambda: asyncio.run(kept_since(storage, 365)) == RECENT, 60, "old texts gone")
    # both pruned at start; whatever each removed, together it is every old text
    # once, and every old mark (no worker polls their feed: nothing carries them)
    for removed in (TEXTS, MARKS):
        wait_until(
            lambda r=removed: sum(int(n) for w in (a, b) for n in r.findall(w.output())) == OLD,
            30,
            f"both workers' reports of {removed.pattern}",
        )
    assert cluster.stop(name="a") == 0
    assert cluster.stop(name="b") == 0
    assert asyncio.run(kept_since(storage, 3)) == RECENT
