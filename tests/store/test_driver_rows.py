"""On SQLite the store inserts many rows at once (quiet items' seen marks and
texts, a story item's index keys) through the driver's executemany instead of
SQLAlchemy's: differential tests against SQLAlchemy's own executemany, the
reference, on the same rows. Every row must be stored byte for byte alike
(times as SQLite's text, missing values as NULL, any text), and read back
alike through the store."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.core.items import Item
from monitor.core.stories import StoryEntry, signature
from monitor.store.sql import SqlStore
from tests.store.factories import T0, item

TABLES = ("seen_items", "item_texts", "story_items", "story_bands")


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[SqlStore, SqlStore]]:
    """The store as it runs, and one whose inserts go through SQLAlchemy."""
    fast, reference = (
        SqlStore(f"sqlite:///{tmp_path}/fast.db"),
        SqlStore(f"sqlite:///{tmp_path}/reference.db"),
    )
    await fast.open()
    await reference.open()
    assert fast._driver_rows is not None
    reference._driver_rows = None
    try:
        yield fast, reference
    finally:
        await fast.close()
        await reference.close()


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return sorted(db.execute(f"select * from {table}").fetchall(), key=repr)


def odd_items() -> list[Item]:
    base = item("guid:1")
    return [
        base,
        replace(base, fingerprint="guid:2", published=None, feed_title=""),
        replace(
            base, fingerprint="guid:3", title="台湾海峡 ‘quotes’ \x00 and é", content="x" * 5000
        ),
        replace(base, fingerprint="guid:4", published=T0 + timedelta(microseconds=1)),
        replace(base, fingerprint="guid:5", summary="", link=""),
    ]


async def test_quiet_items_are_stored_as_sqlalchemy_stores_them(
    stores: tuple[SqlStore, SqlStore], tmp_path: Path
) -> None:
    for store in stores:
        await store.record_quiet(odd_items(), T0)
        await store.record_quiet(odd_items()[:2], T0 + timedelta(hours=1))  # seen: left alone
    for table in ("seen_items", "item_texts"):
        assert rows(tmp_path / "fast.db", table) == rows(tmp_path / "reference.db", table)
    assert len(rows(tmp_path / "fast.db", "item_texts")) == 5
    read = [[s async for s in store.items_since(T0)] for store in stores]
    assert read[0] == read[1] and len(read[0]) == 1 and len(read[0][0]) == 5


async def test_a_story_s_index_keys_are_stored_as_sqlalchemy_stores_them(
    stores: tuple[SqlStore, SqlStore], tmp_path: Path
) -> None:
    for store in stores:
        for n, it in enumerate(odd_items()):
            story = StoryEntry(f"story:{n}", signature(it.title, it.summary).to_bytes())
            await store.record_item(it, [], T0 + timedelta(seconds=n), story=story)
    for table in TABLES:
        fast, reference = rows(tmp_path / "fast.db", table), rows(tmp_path / "reference.db", table)
        assert fast == reference, table
    assert len(rows(tmp_path / "fast.db", "story_bands")) > 5 * 10
