"""The story index in the store (schema version 5), on SQLite and on PostgreSQL:
a new item's story is found among the items of the window filed under one of
its keys, and the signatures they were filed with decide; nothing of the window
is held in the process. Items past the window leave the index (they stay
sources of their story), and a database upgraded from version 4 files the
items of its recent stories, so their copies still join them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection

from monitor.core.items import Item
from monitor.core.retention import Pruned
from monitor.core.stories import DEFAULT_WINDOW, StoryEntry, StoryIndex, signature, story_keys
from monitor.pipeline.stories import StoryBook
from monitor.store import Store, open_store
from monitor.store.schema import story_items
from monitor.store.sql import SqlStore
from tests.core.test_stories import load
from tests.store.factories import T0, cuts, inspect_db, item, load_snapshot

HOUR = timedelta(hours=1)
EV_TITLE = "EU to impose duties of up to 38% on Chinese EV imports"
EV_LEDE = (
    "The European Commission said on Wednesday it would impose additional duties of up "
    "to 38.1% on imported Chinese electric cars from July, risking retaliation from "
    "Beijing, which said it would take all necessary measures to protect its interests."
)
QUAKE_TITLE = "Powerful earthquake strikes central Japan"
QUAKE_LEDE = "A magnitude 7.6 earthquake struck Ishikawa prefecture on New Year's Day."


def news(fingerprint: str, title: str, summary: str, link: str | None = None) -> Item:
    it = replace(item(fingerprint, title), summary=summary)
    return replace(it, link=link) if link is not None else it


async def assign(store: Store, it: Item, now: datetime, book: StoryBook | None = None) -> str:
    """What the matching stage does: the item's story found and the item recorded
    under it, in one serialized step. Returns the story's id."""
    book = book or StoryBook(DEFAULT_WINDOW)
    async with store.serialized() as unit:
        story = await book.assign(it, now, unit)
        await unit.record_item(it, [], now, story=story)
    return story.story_id


def rows_of(it: Item) -> int:
    """How many rows of the story index the item is filed under."""
    return len(set(story_keys(signature(it.title, it.summary), it.link).all))


async def test_a_copy_joins_its_story_through_the_store_alone(storage_url: str) -> None:
    first = await open_store(storage_url)
    try:
        assert await assign(first, news("wire:1", EV_TITLE, EV_LEDE), T0) == "wire:1"
        quake = news("wire:2", QUAKE_TITLE, QUAKE_LEDE)
        assert await assign(first, quake, T0) == "wire:2"
    finally:
        await first.close()

    again = await open_store(storage_url)  # a new process: only the store remembers
    try:
        retitled = news("paper:1", "EU hits Chinese electric vehicles with tariffs", EV_LEDE)
        assert await assign(again, retitled, T0 + HOUR) == "wire:1"
        other = news("paper:2", "Trump doubles steel tariffs", "An order doubles tariffs.")
        assert await assign(again, other, T0 + HOUR) == "paper:2"
        sources = await again.story_sources("wire:1")
        assert [s.link for s in sources] == [item("wire:1").link, retitled.link]
    finally:
        await again.close()


async def test_a_story_can_be_joined_until_its_window_has_passed(store: Store) -> None:
    book = StoryBook(timedelta(hours=2))
    await assign(store, news("wire:1", EV_TITLE, EV_LEDE), T0, book)
    copy = news("paper:1", EV_TITLE, EV_LEDE)
    assert await assign(store, copy, T0 + 2 * HOUR - timedelta(seconds=1), book) == "wire:1"
    # each copy keeps the story open for a window of its own
    late = news("paper:2", EV_TITLE, EV_LEDE)
    assert await assign(store, late, T0 + 3 * HOUR, book) == "wire:1"
    gone = news("paper:3", EV_TITLE, EV_LEDE)
    assert await assign(store, gone, T0 + 5 * HOUR, book) == "paper:3"


async def test_an_equal_link_wins_over_any_number_of_closer_copies(store: Store) -> None:
    # More copies of a story than a lookup reads, each closer to the new item than
    # the page that carries its link: the link still decides.
    live = "https://news.example.org/live"
    await assign(store, news("page:1", QUAKE_TITLE, QUAKE_LEDE, link=live), T0)
    for n in range(120):
        await store.record_item(
            news(f"copy:{n}", EV_TITLE, EV_LEDE),
            [],
            T0 + timedelta(seconds=n + 1),
            story=StoryEntry("ev", signature(EV_TITLE, EV_LEDE).to_bytes()),
        )
    assert await assign(store, news("page:2", EV_TITLE, EV_LEDE, link=live), T0 + HOUR) == "page:1"
    assert await assign(store, news("paper:1", EV_TITLE, EV_LEDE), T0 + HOUR) == "ev"


async def test_items_recorded_in_one_transaction_find_each_other(store: Store) -> None:
    # A batch of items recorded in one step: a later one joins an earlier one.
    book = StoryBook(DEFAULT_WINDOW)
    async with store.serialized() as unit:
        for n in range(3):
            it = news(f"wire:{n}", EV_TITLE, EV_LEDE)
            story = await book.assign(it, T0, unit)
            await unit.record_item(it, [], T0, story=story)
    assert len(await store.story_sources("wire:0")) == 3


# Workers share PostgreSQL; on SQLite one process serializes its own steps.
@pytest.mark.parametrize("storage_url", ["postgresql"], indirect=True)
async def test_copies_matched_by_two_workers_at_once_make_one_story(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    a, b = two_stores
    for n in range(5):
        copies = [news(f"{w}:{n}", f"{EV_TITLE} ({n})", EV_LEDE) for w in ("a", "b")]
        now = T0 + n * HOUR
        found = await asyncio.gather(assign(a, copies[0], now), assign(b, copies[1], now))
        assert found[0] == found[1], found


async def test_the_labelled_stories_cluster_in_the_store_as_in_memory(store: Store) -> None:
    items, _ = load()
    index = StoryIndex()
    expected: dict[str, str] = {}
    for it in items:
        sig = signature(it.title, it.summary)
        expected[it.id] = index.find(sig, it.link, it.at) or it.id
        index.add(expected[it.id], sig, it.link, it.at)
    found = {
        it.id: await assign(store, news(it.id, it.title, it.summary, link=it.link), it.at)
        for it in items
    }
    assert found == expected
    assert len(set(found.values())) < len(found)  # some copies did join


async def test_items_past_the_window_leave_the_index_and_stay_sources(store: Store) -> None:
    old = news("wire:1", EV_TITLE, EV_LEDE)
    recent = news("wire:2", QUAKE_TITLE, QUAKE_LEDE)
    await assign(store, old, T0 - 3 * HOUR)
    await assign(store, recent, T0 - HOUR)
    assert await store.prune(cuts(story_bands=T0 - 2 * HOUR)) == Pruned(story_bands=rows_of(old))
    assert await store.prune(cuts(story_bands=T0 - 2 * HOUR)) == Pruned()

    # the old story can no longer be joined; the recent one can
    assert await assign(store, news("paper:1", EV_TITLE, EV_LEDE), T0) == "paper:1"
    assert await assign(store, news("paper:2", QUAKE_TITLE, QUAKE_LEDE), T0) == "wire:2"
    assert [s.link for s in await store.story_sources("wire:1")] == [old.link]

    # an item forgotten altogether takes its rows of the index with it
    pruned = await store.prune(cuts(story_items=T0 - 30 * timedelta(minutes=1)))
    assert pruned == Pruned(story_items=2, story_bands=rows_of(recent))


async def test_pruning_goes_a_batch_at_a_time(store: Store) -> None:
    items = [news(f"wire:{n}", f"{EV_TITLE} {n}", EV_LEDE) for n in range(7)]
    for n, it in enumerate(items):
        await store.record_item(
            it,
            [],
            T0 + timedelta(minutes=n),
            story=StoryEntry(f"s{n}", signature(it.title, it.summary).to_bytes()),
        )
    pruned = await store.prune(cuts(story_bands=T0 + HOUR), batch=3)
    assert pruned == Pruned(story_bands=sum(rows_of(it) for it in items))


async def test_an_upgraded_database_files_the_items_of_its_recent_stories(
    storage_url: str,
) -> None:
    await load_snapshot(storage_url, 4)
    hour_ago = datetime.now(UTC) - HOUR
    wire = news("wire:1", EV_TITLE, EV_LEDE)

    def seen_before_the_upgrade(conn: Connection) -> None:
        conn.execute(
            story_items.insert().values(
                fingerprint=wire.fingerprint,
                story="wire:1",
                signature=signature(wire.title, wire.summary).to_bytes(),
                link=wire.link,
                feed_title="Wire",
                title=wire.title,
                seen_at=hour_ago,
            )
        )

    await inspect_db(storage_url, seen_before_the_upgrade)
    s = await open_store(storage_url)
    try:
        copy = news("paper:1", "EU hits Chinese electric vehicles with tariffs", EV_LEDE)
        assert await assign(s, copy, hour_ago + HOUR) == "wire:1"
        # and the filed item leaves the index with the rest of its window
        pruned = await s.prune(cuts(story_bands=hour_ago + timedelta(minutes=30)))
        assert pruned == Pruned(story_bands=rows_of(wire))
    finally:
        await s.close()
