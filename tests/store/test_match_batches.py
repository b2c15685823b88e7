"""The matching stage takes items in batches; what a user sees must not depend
on how the items were batched: one alert per story and channel, rate limits
kept, every item recorded as seen. On SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.core.items import Item
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.notify.channels import load_channels
from monitor.notify.deliver import Deliverer
from monitor.pipeline import Stages
from monitor.rules.rulebook import Rulebook
from monitor.store import Store, open_store
from tests.store.factories import unseen

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
RULES = "rules:\n  - name: strait\n    match: Taiwan\n"

STORY = (
    "Chinese warships circle Taiwan in a second day of drills",
    "The Eastern Theater Command said forty aircraft and nine ships crossed the median "
    "line of the Taiwan Strait on Tuesday, as Taipei put its coast guard on alert.",
)
OTHERS = [
    ("Taiwan chip exports hit a record in April", "TSMC shipments to Arizona rose by a third."),
    ("Taiwan's legislature passes a defence budget", "The Legislative Yuan voted 64 to 45."),
    ("Typhoon Kong-rey makes landfall in Taiwan", "Schools and offices in Hualien closed."),
    ("Taiwan tightens rules on Chinese apps", "Officials cited data flowing to Beijing."),
]
QUIET = [
    (f"Harbour {n} reopens after storm repairs", f"Ferries to island {n} run again from Monday.")
    for n in range(40)
]


def item(n: int, title: str, summary: str, feed: str = "https://a.example.org/rss") -> Item:
    return Item(
        fingerprint=f"guid:{feed}:{n}",
        feed=feed,
        feed_title="",
        title=title,
        summary=summary,
        content="",
        link=f"{feed.removesuffix('/rss')}/{n}",
        published=NOW - timedelta(minutes=5),
    )


@pytest.fixture
async def stages(tmp_path: Path, storage_url: str) -> AsyncIterator[tuple[Stages, Store]]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "strait.yaml").write_text(RULES)
    (tmp_path / "apprise.yml").write_text(
        "version: 1\nurls:\n  - json://127.0.0.1:9/x:\n      - tag: chat\n"
    )
    (tmp_path / "monitor.yaml").write_text(
        "feeds:\n  - url: https://a.example.org/rss\nrules: rules\nnotify: apprise.yml\n"
        f"data_dir: data\nstorage: {storage_url}\n"
        "channels:\n  chat: {max_per_hour: 3}\n"
    )
    settings = load_settings(tmp_path / "monitor.yaml")
    store = await open_store(settings.storage)
    channels = load_channels(settings.apprise_config)
    try:
        async with Fetcher() as fetcher, FeedParser(thread=True) as parser:
            yield (
                Stages.build(
                    settings,
                    store=store,
                    rulebook=Rulebook(settings.rules_dir),
                    deliverer=Deliverer(channels, options=settings.channels),
                    fetcher=fetcher,
                    parser=parser,
                    clock=lambda: NOW,
                ),
                store,
            )
    finally:
        await store.close()


async def test_one_batch_with_copies_of_a_story_alerts_once_and_keeps_the_rate_limit(
    stages: tuple[Stages, Store], storage_url: str
) -> None:
    matching = stages[0].matching
    copies = [item(n, *STORY, feed=f"https://outlet{n}.example.org/rss") for n in range(5)]
    others = [item(100 + n, *story) for n, story in enumerate(OTHERS)]
    quiet = [item(200 + n, *story) for n, story in enumerate(QUIET)]
    batch = [*quiet[:20], *copies, *others, *quiet[20:]]

    sent = await matching.match_all(batch)

    # one alert for the five copies, then the rate limit (3 an hour): two more
    # go out now, the other two wait
    assert len(sent) == 3
    assert sent[0].alert.title == STORY[0]
    assert len({p.story for p in sent}) == 3
    assert await unseen(storage_url, [i.fingerprint for i in batch]) == set()
    # the later copies joined the story the first began, earlier in the batch
    store = stages[1]
    sources = await store.story_sources(sent[0].story or "")
    assert sorted(s.link for s in sources) == sorted(c.link for c in copies)
    # a second delivery of the same batch (a redelivery) sends nothing new
    again = await matching.match_all(batch)
    assert {p.id for p in again} <= {p.id for p in sent}


async def test_a_batch_and_the_same_items_one_by_one_alert_alike(
    stages: tuple[Stages, Store],
) -> None:
    matching = stages[0].matching
    batch = [item(n, *story) for n, story in enumerate([*OTHERS[:2], *QUIET[:3]])]
    alone = [
        item(50 + n, *story, feed="https://b.example.org/rss") for n, story in enumerate(OTHERS[2:])
    ]
    together = await matching.match_all(batch)
    one_by_one = [p for it in alone for p in await matching.match_all([it])]
    assert [p.alert.title for p in together] == [t for t, _ in OTHERS[:2]]
    assert [p.alert.title for p in one_by_one] == [t for t, _ in OTHERS[2:3]]  # 3 an hour


async def test_an_item_twice_in_a_batch_alerts_once_and_is_recorded_once(
    stages: tuple[Stages, Store], storage_url: str
) -> None:
    matching, store = stages[0].matching, stages[1]
    first = item(1, *OTHERS[0])
    sent = await matching.match_all([first, item(2, *QUIET[0]), first])
    assert [p.alert.title for p in sent] == [OTHERS[0][0]]
    assert [s.title for s in await store.story_sources(sent[0].story or "")] == [OTHERS[0][0]]
    assert await unseen(storage_url, [first.fingerprint]) == set()
