"""Item texts, on SQLite and on PostgreSQL: kept with the seen item, read back
in batches oldest first for ``newsmon replay``, and pruned after the retention
period while the item stays seen."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.core.items import Item, StoredItem
from monitor.core.retention import Pruned
from monitor.core.stories import StoryEntry
from monitor.store import Store
from monitor.store.sql import SqlStore
from tests.store.factories import T0, alert, cuts, item, unseen

DAY = timedelta(days=1)


async def read_all(store: Store, since: datetime = T0 - 365 * DAY) -> list[StoredItem]:
    return [stored async for chunk in store.items_since(since) for stored in chunk]


async def test_an_item_recorded_keeps_its_whole_text(store: Store) -> None:
    it = replace(
        item("guid:1", "Taiwan détecte 20 navires chinois près de Kinmen"),
        summary="Le ministère de la Défense parle d'une « pression » accrue.",
        content="Taipei a dit que des navires de guerre chinois… " * 200,  # a long article
    )
    await store.record_item(it, [alert(it, "mail")], T0)
    [stored] = await read_all(store)
    assert stored.item == it
    assert (stored.seen_at, stored.story) == (T0, None)


async def test_an_item_without_alerts_and_without_a_date_is_kept_too(store: Store) -> None:
    quiet = replace(item("guid:2", "Rain expected in Manchester"), published=None, feed_title="")
    await store.record_item(quiet, [], T0)
    [stored] = await read_all(store)
    assert stored.item == quiet


async def test_copies_of_a_story_say_which_story(store: Store) -> None:
    first, copy = item("guid:1"), replace(item("guid:2"), feed="https://wire.example.net/rss")
    story = StoryEntry("guid:1", b"\x01sig")
    await store.record_item(first, [alert(first, "mail")], T0, story=story)
    await store.record_item(copy, [alert(copy, "mail")], T0 + timedelta(minutes=3), story=story)
    await store.record_item(item("guid:3"), [], T0 + timedelta(minutes=4))
    assert [(s.item.fingerprint, s.story) for s in await read_all(store)] == [
        ("guid:1", "guid:1"),
        ("guid:2", "guid:1"),
        ("guid:3", None),
    ]


async def test_a_redelivered_item_keeps_the_text_it_was_first_seen_with(store: Store) -> None:
    it = item("guid:1", "First title")
    await store.record_item(it, [], T0)
    await store.record_item(replace(it, title="Edited title"), [], T0 + DAY)
    [stored] = await read_all(store)
    assert (stored.item.title, stored.seen_at) == ("First title", T0)


async def test_items_come_oldest_first_in_batches_from_since_on(store: Store) -> None:
    # several items share a second, across the batch boundaries too
    times = [T0 + timedelta(seconds=n // 3) for n in range(23)]
    for n, at in reversed(list(enumerate(times))):
        await store.record_item(item(f"guid:{n:02d}"), [], at)
    await store.record_item(item("guid:old"), [], T0 - timedelta(seconds=1))

    batches = [[s.item.fingerprint for s in b] async for b in store.items_since(T0, batch=5)]
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert [fp for b in batches for fp in b] == [f"guid:{n:02d}" for n in range(23)]
    assert await store.count_items_since(T0) == 23  # since is inclusive; the older one is out
    assert await store.count_items_since(T0 - timedelta(seconds=1)) == 24
    assert [b async for b in store.items_since(T0 + DAY)] == []


async def test_a_full_last_batch_ends_the_reading_cleanly(store: Store) -> None:
    for n in range(4):
        await store.record_item(item(f"guid:{n}"), [], T0 + timedelta(minutes=n))
    sizes = [len(b) async for b in store.items_since(T0, batch=2)]
    assert sizes == [2, 2]


async def test_pruning_removes_only_the_texts_older_than_the_cut(
    store: Store, storage_url: str
) -> None:
    for n in range(7):  # one item a day, T0 - 6 days … T0
        await store.record_item(item(f"guid:{n}"), [], T0 - (6 - n) * DAY)
    cut = T0 - 2 * DAY
    pruned = await store.prune(cuts(item_texts=cut), batch=2)
    assert pruned == Pruned(item_texts=4)  # days -6 … -3, in two-row batches
    left = await read_all(store)
    assert [s.item.fingerprint for s in left] == ["guid:4", "guid:5", "guid:6"]
    assert left[0].seen_at == cut  # exactly at the cut: kept
    # the items stay seen: a restart never re-alerts on them
    assert await unseen(storage_url, [f"guid:{n}" for n in range(7)]) == set()
    assert await store.prune(cuts(item_texts=cut)) == Pruned()  # nothing more to do


async def test_pruning_leaves_the_outbox_and_stories_alone(store: Store) -> None:
    it = item("guid:1")
    story = StoryEntry("guid:1", b"\x01sig")
    [alert_id] = (
        await store.record_item(it, [alert(it, "mail")], T0 - 40 * DAY, story=story)
    ).values()
    assert await store.prune(cuts(item_texts=T0)) == Pruned(item_texts=1)
    assert await read_all(store) == []
    assert await store.is_settled(alert_id) is False
    assert [s.link for s in await store.story_sources("guid:1")] == [it.link]


async def test_workers_pruning_at_once_remove_each_text_once(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    a, b = two_stores
    old: list[Item] = [item(f"guid:{n}") for n in range(60)]
    for n, it in enumerate(old):
        await a.record_item(it, [], T0 - 40 * DAY + timedelta(seconds=n))
    await a.record_item(item("guid:new"), [], T0)
    texts = cuts(item_texts=T0 - DAY)
    removed = await asyncio.gather(*(s.prune(texts, batch=7) for s in (a, b) * 2))
    assert sum(p.item_texts for p in removed) == 60
    assert [s.item.fingerprint for s in await read_all(b)] == ["guid:new"]


async def test_quiet_items_are_recorded_together_as_seen_with_their_texts(store: Store) -> None:
    earlier = item("guid:0", "Seen an hour ago")
    await store.record_item(earlier, [], T0 - timedelta(hours=1))
    quiet = [item(f"guid:{n:04d}", f"Quiet story number {n}") for n in range(1, 1201)]
    await store.record_quiet([*quiet, replace(earlier, title="Seen again")], T0)
    stored = await read_all(store)
    assert [s.item for s in stored] == [earlier, *quiet]  # the earlier one as first seen
    assert {s.seen_at for s in stored[1:]} == {T0}
    assert await store.carried(earlier.feed, ["guid:0", "guid:0001", "guid:new"], T0, T0) == {
        "guid:new"
    }
