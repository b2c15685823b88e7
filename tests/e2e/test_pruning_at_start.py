"""End to end: `newsmon run` prunes what `retention.items` no longer keeps as
soon as it starts: item texts, and the seen marks of items no feed carries any
more. An old item its feed still carries keeps its mark, so it never alerts
again, however long ago it was first seen."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.items import Item, fingerprint
from monitor.store import open_store
from tests.e2e.conftest import Service
from tests.feedserver import rss
from tests.store.factories import unseen

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC)
TEXTS = re.compile(r"retention: removed (\d+) item texts?\b")
MARKS = re.compile(r"retention: removed .*?\b(\d+) seen items?\b")
BBC = "https://feeds.bbci.co.uk/news/world/rss.xml"  # not in the config: nothing polls it

PINNED = {
    "title": "Explainer: why Taiwan holds drills every spring",
    "link": "https://news.example.org/explainers/drills",
    "guid": "explainer-drills",  # no date: it would count as news when first seen
}
FRESH = {"title": "Taiwan holds drills", "link": "https://news.example.org/d", "guid": "d1"}


def old_news(n: int) -> Item:
    return Item(
        fingerprint=f"archive-{n}",
        feed=BBC,
        feed_title="BBC World",
        title=f"Archive story {n}",
        summary="Ministers met in Brussels.",
        content="",
        link=f"https://www.bbc.co.uk/news/world-{n}",
        published=None,
    )


def pinned(feed: str) -> Item:
    fp = fingerprint(PINNED["guid"], PINNED["link"], PINNED["title"], "", feed=feed)
    return Item(fp, feed, "Loopback /world.rss", PINNED["title"], "", "", PINNED["link"], None)


async def fill(storage: str, archive: list[tuple[Item, float]], carried: Item) -> None:
    store = await open_store(storage)
    try:
        for item, days_ago in archive:
            await store.record_item(item, [], NOW - timedelta(days=days_ago))
        # first seen 45 days ago, by a poll of the feed that still carries it
        first = NOW - timedelta(days=45)
        await store.carried(carried.feed, [carried.fingerprint], first, first - timedelta(hours=1))
        await store.record_item(carried, [], first)
    finally:
        await store.close()


async def stored(storage: str, carried: Item) -> tuple[list[str], set[str]]:
    """The fingerprints whose text is kept, and which of the archive and the
    pinned item are unseen."""
    store = await open_store(storage)
    try:
        since = NOW - timedelta(days=365)
        kept = [s.item.fingerprint async for chunk in store.items_since(since) for s in chunk]
        wanted = [f"archive-{n}" for n in range(8)] + [carried.fingerprint]
        return kept, await unseen(storage, wanted)
    finally:
        await store.close()


def own_rules(service: Service) -> None:
    """One rule of our own: this test is about retention, not the shipped pack."""
    for path in service.rules.iterdir():
        path.unlink()
    (service.rules / "watch.yaml").write_text("rules:\n  - name: drills\n    match: drill*\n")


def test_the_service_prunes_at_start_and_an_item_still_in_its_feed_stays_seen(
    service: Service,
) -> None:
    storage = f"sqlite:///{service.root / 'data' / 'newsmon.db'}"
    own_rules(service)
    service.options["retention"] = {"items": "30d"}
    service.write_config(["/world.rss"])
    explainer = pinned(service.feeds.url("/world.rss"))
    ages = [45, 40, 33, 31, 31, 29, 10, 0.5]  # five beyond 30 days
    asyncio.run(fill(storage, [(old_news(n), age) for n, age in enumerate(ages)], explainer))
    service.feeds.set_feed("/world.rss", rss([PINNED, FRESH]))

    service.start()
    service.wait_log("retention: removed")
    [chat] = service.webhook.wait_for(1, timeout=30)
    service.wait_polls("/world.rss", 2)  # the feed read again and again: still one alert
    assert service.stop() == 0

    assert FRESH["title"] in str(chat)
    assert len(service.webhook.bodies) == 1 and len(service.smtp.messages) == 1
    kept, unseen = asyncio.run(stored(storage, explainer))
    assert kept[:3] == ["archive-5", "archive-6", "archive-7"]
    assert len(kept) == 4 and kept[3] != "archive-0"  # the item just polled, kept too
    # the texts of the five and of the explainer went, and the marks of the five
    # (no feed carries them); the explainer's stays: its feed still carries it
    assert unseen == {f"archive-{n}" for n in range(5)}
    assert [int(n) for n in TEXTS.findall(service.output())] == [6]
    assert [int(n) for n in MARKS.findall(service.output())] == [5]
