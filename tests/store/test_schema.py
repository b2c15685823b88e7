"""Schema versions: a new database is created at the current version, a version-1
database made before versions were kept opens as it was, an older one is
upgraded exactly once even when several workers open it together, and a newer
one is refused, untouched."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, inspect, text

from monitor.errors import ConfigError
from monitor.store import open_store
from monitor.store.migrations import SCHEMA_VERSION, STEPS, Step, latest_version
from monitor.store.sql import SqlStore
from tests.store.factories import FEED, T0, alert, drop_everything, inspect_db, item, load_v1


def history(conn: Connection) -> list[tuple[int, str]]:
    rows = conn.execute(text("SELECT version, summary FROM schema_version ORDER BY version"))
    return [(int(version), summary) for version, summary in rows]


def shape(conn: Connection) -> dict[str, Any]:
    """What a database's schema looks like, as far as newsmon's statements care."""
    look = inspect(conn)
    tables: dict[str, Any] = {}
    for table in sorted(look.get_table_names()):
        columns = look.get_columns(table)
        tables[table] = {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in columns
            ),
            "primary key": look.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(
                (u["name"], tuple(u["column_names"])) for u in look.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(str(c) for c in i["column_names"]), i["unique"])
                for i in look.get_indexes(table)
            ),
            "foreign keys": sorted(
                (f["name"], tuple(f["constrained_columns"]), f["referred_table"])
                for f in look.get_foreign_keys(table)
            ),
        }
    return tables


def add_feed_note(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE feeds ADD COLUMN note TEXT")


def index_seen_at(conn: Connection) -> None:
    conn.exec_driver_sql("CREATE INDEX seen_items_seen_at ON seen_items (seen_at)")


def fail(conn: Connection) -> None:
    raise RuntimeError("disk full")


NOTE = Step(2, "feeds get a note", add_feed_note)
SEEN_AT = Step(3, "seen items by date", index_seen_at)


async def test_a_new_database_is_created_at_the_current_version(storage_url: str) -> None:
    s = await open_store(storage_url)
    await s.close()
    assert await inspect_db(storage_url, history) == [(SCHEMA_VERSION, "new database")]
    again = await open_store(storage_url)  # opening again changes nothing
    await again.close()
    assert await inspect_db(storage_url, history) == [(SCHEMA_VERSION, "new database")]


async def test_a_version_1_database_from_before_versions_opens_with_its_data(
    storage_url: str,
) -> None:
    await load_v1(storage_url)
    s = await open_store(storage_url)
    try:
        state = await s.feed_state(FEED)
        assert state is not None and state.etag == 'W/"abc"' and state.last_status == 200
        assert state.next_poll_at == T0 + timedelta(minutes=5)
        assert await s.due_feeds([FEED], T0) == []
        assert await s.unseen(["guid:1", "guid:2", "guid:3", "guid:4"]) == {"guid:4"}

        # one delivered (mail for guid:1), one pending, one failed once and due at 12:03
        assert (await s.delivered_count(), await s.pending_count()) == (1, 2)
        [chat] = await s.due_alerts(T0)
        assert (chat.id, chat.alert.channel, chat.attempts) == (2, "chat", 0)
        assert chat.alert.title == "Strait tensions rise"
        [_, retry] = await s.due_alerts(T0 + timedelta(minutes=3))
        assert (retry.id, retry.attempts, retry.last_error) == (3, 1, "Connection refused")

        # and it keeps working: new alerts get new ids, old items stay seen
        it = item("guid:4")
        assert await s.record_item(it, [alert(it, "mail")], T0) == [4]
        assert await s.record_item(item("guid:1"), [alert(item("guid:1"), "fax")], T0) == []
    finally:
        await s.close()
    assert await inspect_db(storage_url, history) == [
        (1, "version 1, found without a version record")
    ] + [(step.version, step.summary) for step in STEPS]


async def test_an_upgraded_version_1_database_matches_a_new_one(storage_url: str) -> None:
    # Fails when monitor/store/schema.py changes without a step in STEPS that
    # makes the same change to an existing database.
    await load_v1(storage_url)
    upgraded = await open_store(storage_url)
    await upgraded.close()
    old = await inspect_db(storage_url, shape)

    await drop_everything(storage_url)
    new = await open_store(storage_url)
    await new.close()
    assert await inspect_db(storage_url, shape) == old


async def test_steps_upgrade_an_older_database_in_order_and_once(storage_url: str) -> None:
    await load_v1(storage_url)
    s = SqlStore(storage_url, steps=[NOTE, SEEN_AT])
    await s.open()
    try:
        assert await s.unseen(["guid:1", "guid:9"]) == {"guid:9"}  # the data came along
    finally:
        await s.close()

    def columns_and_indexes(conn: Connection) -> tuple[list[str], list[str | None]]:
        look = inspect(conn)
        return (
            [c["name"] for c in look.get_columns("feeds")],
            [i["name"] for i in look.get_indexes("seen_items")],
        )

    feed_columns, seen_indexes = await inspect_db(storage_url, columns_and_indexes)
    assert "note" in feed_columns and "seen_items_seen_at" in seen_indexes
    applied = [(1, "version 1, found without a version record"), (2, NOTE.summary)]
    applied.append((3, SEEN_AT.summary))
    assert await inspect_db(storage_url, history) == applied

    # opened again, nothing runs twice (ADD COLUMN twice would fail)
    again = SqlStore(storage_url, steps=[NOTE, SEEN_AT])
    await again.open()
    await again.close()
    assert await inspect_db(storage_url, history) == applied


async def test_a_failed_step_leaves_the_database_as_it_was(storage_url: str) -> None:
    plain = await open_store(storage_url)
    await plain.close()
    broken = SqlStore(storage_url, steps=[NOTE, Step(3, "rebuild the outbox", fail)])
    with pytest.raises(ConfigError, match=r"to version 3 \(rebuild the outbox\) failed.*disk full"):
        await broken.open()

    def feed_columns(conn: Connection) -> list[str]:
        return [c["name"] for c in inspect(conn).get_columns("feeds")]

    assert "note" not in await inspect_db(storage_url, feed_columns)  # step 2 was rolled back
    assert await inspect_db(storage_url, history) == [(1, "new database")]
    fixed = SqlStore(storage_url, steps=[NOTE])
    await fixed.open()
    await fixed.close()
    assert "note" in await inspect_db(storage_url, feed_columns)


async def test_a_database_from_a_newer_newsmon_is_refused_untouched(storage_url: str) -> None:
    current = await open_store(storage_url)
    await current.close()
    newer = SqlStore(storage_url, steps=[NOTE, SEEN_AT])
    await newer.open()
    it = item()
    await newer.record_item(it, [alert(it, "mail")], T0)
    await newer.close()

    too_new = "schema version 3, but this newsmon knows versions up to 1"
    with pytest.raises(ConfigError, match=too_new):
        await open_store(storage_url)
    with pytest.raises(ConfigError, match=r"^storage .* knows versions up to 2"):
        await SqlStore(storage_url, steps=[NOTE]).open()
    assert [v for v, _ in await inspect_db(storage_url, history)] == [1, 2, 3]
    reopened = SqlStore(storage_url, steps=[NOTE, SEEN_AT])
    await reopened.open()
    try:
        assert await reopened.pending_count() == 1
    finally:
        await reopened.close()


async def test_workers_opening_a_new_database_together_create_it_once(storage_url: str) -> None:
    stores = [SqlStore(storage_url) for _ in range(6)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert await inspect_db(storage_url, history) == [(SCHEMA_VERSION, "new database")]


async def test_workers_opening_an_old_database_together_upgrade_it_once(storage_url: str) -> None:
    await load_v1(storage_url)
    stores = [SqlStore(storage_url, steps=[NOTE]) for _ in range(6)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert await inspect_db(storage_url, history) == [
        (1, "version 1, found without a version record"),
        (2, NOTE.summary),
    ]


def test_the_shipped_steps_are_in_order() -> None:
    assert latest_version(STEPS) == SCHEMA_VERSION == 1 + len(STEPS)
    with pytest.raises(ValueError, match="step 3 out of order: expected 2"):
        latest_version([SEEN_AT])
    with pytest.raises(ValueError, match="step 2 out of order: expected 3"):
        latest_version([NOTE, NOTE])
