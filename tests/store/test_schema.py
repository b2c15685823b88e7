"""Schema versions: a new database is created at the current version, a database
of every earlier version (frozen in tests/store/data) opens with its data and
ends up shaped exactly like a new one, an older one is upgraded exactly once
even when several workers open it together, and a newer one is refused,
untouched.

The made-up steps below come after the shipped ones (``STEPS``), as the next
newsmon's would."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, inspect, text

from monitor.core.retention import Pruned
from monitor.core.stories import StoryEntry
from monitor.errors import ConfigError
from monitor.pipeline.stories import StoryBook
from monitor.store import open_store
from monitor.store.migrations import SCHEMA_VERSION, STEPS, Step, latest_version
from monitor.store.sql import SqlStore
from tests.store.factories import (
    FEED,
    SNAPSHOTS,
    T0,
    alert,
    cuts,
    drop_everything,
    due_alerts,
    inspect_db,
    item,
    load_snapshot,
    sent_since,
    unseen,
)


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


NOTE = Step(SCHEMA_VERSION + 1, "feeds get a note", add_feed_note)
SEEN_AT = Step(SCHEMA_VERSION + 2, "seen items by date", index_seen_at)
NEXT = [*STEPS, NOTE]  # the next newsmon's steps
AFTER_NEXT = [*STEPS, NOTE, SEEN_AT]

ADOPTED = (1, "version 1, found without a version record")
SHIPPED = [(step.version, step.summary) for step in STEPS]


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
    await load_snapshot(storage_url, 1)
    s = await open_store(storage_url)
    try:
        state = await s.feed_state(FEED)
        assert state is not None and state.etag == 'W/"abc"' and state.last_status == 200
        assert state.next_poll_at == T0 + timedelta(minutes=5)
        assert (state.health, state.cadence_s, state.last_new_item_at) == ("ok", None, None)
        assert await s.due_feeds([FEED], T0) == []
        assert await unseen(storage_url, ["guid:1", "guid:2", "guid:3", "guid:4"]) == {"guid:4"}

        # one delivered (mail for guid:1), one pending, one failed once and due at 12:03
        [chat] = await due_alerts(storage_url, T0)
        assert (chat.id, chat.alert.channel, chat.attempts) == (2, "chat", 0)
        assert chat.alert.title == "Strait tensions rise"
        [_, retry] = await due_alerts(storage_url, T0 + timedelta(minutes=3))
        assert (retry.id, retry.attempts, retry.last_error) == (3, 1, "Connection refused")

        assert chat.story is None and chat.digest_due is None and chat.dead_at is None
        summary = await s.outbox_summary()
        assert (summary.pending, summary.digest, summary.dead, summary.delivered) == (2, 0, 0, 1)

        # and it keeps working: new alerts get new ids, old items stay seen
        it = item("guid:4")
        assert await s.record_item(it, [alert(it, "mail")], T0) == {"mail": 4}
        assert await s.record_item(item("guid:1"), [alert(item("guid:1"), "fax")], T0) == {}
        copy = item("guid:5")
        story = StoryEntry("guid:4", b"\x01signature")
        assert await s.record_item(copy, [alert(copy, "mail")], T0, story=story) == {}
        assert [src.link for src in await s.story_sources("guid:4")] == [copy.link]
        await s.mark_dead(3, "HTTP 401", T0 + timedelta(minutes=3))
        assert [p.id for p in await s.dead_letters()] == [3]
    finally:
        await s.close()
    assert await inspect_db(storage_url, history) == [ADOPTED, *SHIPPED]


async def test_a_version_2_database_opens_with_its_data(storage_url: str) -> None:
    await load_snapshot(storage_url, 2)
    s = await open_store(storage_url)
    try:
        state = await s.feed_state(FEED)
        assert state is not None and state.etag == 'W/"abc"'
        assert (state.health, state.cadence_s) == ("silent", 1800.0)
        assert state.last_new_item_at == T0 - timedelta(hours=2)

        summary = await s.outbox_summary()
        assert (summary.pending, summary.digest, summary.dead, summary.delivered) == (1, 1, 1, 1)
        [sms] = await due_alerts(storage_url, T0 + timedelta(hours=2))
        assert (sms.alert.fingerprint, sms.alert.channel, sms.story) == ("guid:2", "sms", "guid:1")
        [dead] = await s.dead_letters()
        assert (dead.alert.fingerprint, dead.last_error) == ("guid:3", "HTTP 401 Unauthorized")
        assert dead.dead_at == T0 + timedelta(minutes=3, seconds=5)
        assert await s.claim_digests(T0 + timedelta(minutes=59), T0 + timedelta(hours=2)) == {}
        digests = await s.claim_digests(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
        assert [(p.alert.fingerprint, p.digest_due) for p in digests["chat"]] == [
            ("guid:1", T0 + timedelta(hours=1))
        ]
        assert list(digests) == ["chat"]

        sources = await s.story_sources("guid:1")
        assert [(src.feed_title, src.link) for src in sources] == [
            ("Example World", "https://news.example.org/guid:1"),
            ("Other Wire", "https://news.example.org/guid:2"),
        ]
        # after T0: guid:3 (a story of its own), then guid:2 (a copy of guid:1)
        assert await s.reported_stories(T0, sources=1) == ["guid:3", "guid:1"]
        assert await sent_since(s, "mail", T0) == 2

        # a third copy of the story: mail and sms had theirs, fax is new
        it = item("guid:9")
        story = StoryEntry("guid:1", b"\x01signature")
        alerts = [alert(it, ch) for ch in ("mail", "sms", "fax")]
        [fax] = (await s.record_item(it, alerts, T0 + timedelta(hours=1), story=story)).values()
        due = await due_alerts(storage_url, T0 + timedelta(hours=2))
        assert [(p.id, p.alert.channel) for p in due] == [(sms.id, "sms"), (fax, "fax")]
    finally:
        await s.close()
    assert (await inspect_db(storage_url, history))[0] == (2, "new database")


async def test_a_version_2_database_keeps_the_texts_of_items_recorded_from_then_on(
    storage_url: str,
) -> None:
    await load_snapshot(storage_url, 2)
    s = await open_store(storage_url)
    try:
        assert await s.count_items_since(T0 - timedelta(days=365)) == 0  # v2 kept no texts
        assert await unseen(storage_url, ["guid:1", "guid:2", "guid:3"]) == set()
        it = item("guid:9", "Taiwan holds drills near Kinmen")
        await s.record_item(it, [alert(it, "mail")], T0 + timedelta(hours=1))
        [[stored]] = [batch async for batch in s.items_since(T0 - timedelta(days=365))]
        assert (stored.item, stored.seen_at, stored.story) == (it, T0 + timedelta(hours=1), None)
    finally:
        await s.close()
    assert (3, "item texts, for replay") in await inspect_db(storage_url, history)


async def test_a_version_3_database_opens_with_its_data(storage_url: str) -> None:
    await load_snapshot(storage_url, 3)
    s = await open_store(storage_url)
    try:
        since = T0 - timedelta(days=2)
        batches = [batch async for batch in s.items_since(since, batch=3)]
        assert [[x.item.fingerprint for x in b] for b in batches] == [
            ["guid:4", "guid:1", "guid:3"],
            ["guid:2"],
        ]
        quiet, strait, talks, copy = (x for b in batches for x in b)
        assert (quiet.story, quiet.item.published, quiet.seen_at) == (
            None,
            None,
            T0 - timedelta(days=1),
        )
        assert quiet.item.content == "Shares in Tokyo and Seoul rose for a third day."
        assert (strait.story, talks.story, copy.story) == ("guid:1", "guid:3", "guid:1")
        assert strait.item.published == T0 - timedelta(minutes=5)
        assert (copy.item.feed, copy.item.feed_title) == (
            "https://other.example.net/feed",
            "Other Wire",
        )
        assert talks.item.summary == "Envoys meet again on trade."

        summary = await s.outbox_summary()
        assert (summary.pending, summary.digest, summary.dead, summary.delivered) == (1, 1, 1, 1)
        assert (await s.prune(cuts(item_texts=T0))).item_texts == 1  # the day-old one
        assert await s.count_items_since(since) == 3
        assert (
            await unseen(storage_url, ["guid:4"]) == set()
        )  # its text is gone, not the fact it was seen
    finally:
        await s.close()
    assert (await inspect_db(storage_url, history))[0] == (3, "new database")


async def test_a_version_3_database_keeps_the_marks_of_a_feed_until_it_is_read_again(
    storage_url: str,
) -> None:
    await load_snapshot(storage_url, 3)
    s = await open_store(storage_url)
    try:
        # version 3 kept no record of what the feed still carries: its marks stay;
        # the other feed has no row (nothing polls it), so its item may go
        later = cuts(seen_items=T0 + timedelta(days=60))
        assert (await s.prune(later)).seen_items == 1
        assert await unseen(storage_url, ["guid:1", "guid:2", "guid:3", "guid:4"]) == {"guid:2"}
        # a poll reads the feed: it carries guid:1 only; the others' marks may go
        now = T0 + timedelta(days=2)
        assert await s.carried(FEED, ["guid:1"], now, now - timedelta(hours=1)) == set()
        assert (await s.prune(later)).seen_items == 2
        assert await unseen(storage_url, ["guid:1", "guid:3", "guid:4"]) == {"guid:3", "guid:4"}
    finally:
        await s.close()
    assert 4 in dict(await inspect_db(storage_url, history))


async def test_a_version_4_database_opens_with_its_data(storage_url: str) -> None:
    await load_snapshot(storage_url, 4)
    s = await open_store(storage_url)
    try:
        summary = await s.outbox_summary()
        assert (summary.pending, summary.digest, summary.dead, summary.delivered) == (1, 1, 1, 1)
        assert await unseen(storage_url, ["guid:1", "guid:2", "guid:3", "guid:4", "guid:5"]) == {
            "guid:5"
        }
        # three hours on, past every cut: the feed still carries guid:1 and guid:3
        # (read at 14:00); it dropped guid:4; guid:2's feed has no row
        pruned = await s.prune(
            cuts(
                item_texts=T0 + timedelta(hours=3),
                seen_items=T0 + timedelta(hours=3),
                story_items=T0 + timedelta(seconds=90),
                messages=T0 + timedelta(hours=3),
                alerts=T0 + timedelta(hours=3),
            )
        )
        assert pruned == Pruned(item_texts=4, seen_items=2, story_items=2, messages=2, alerts=2)
        assert await unseen(storage_url, ["guid:1", "guid:2", "guid:3", "guid:4"]) == {
            "guid:2",
            "guid:4",
        }
        assert [src.link for src in await s.story_sources("guid:1")] == [
            "https://news.example.org/guid:2"
        ]
        summary = await s.outbox_summary()  # what is still to be sent stays
        assert (summary.pending, summary.digest, summary.dead, summary.delivered) == (1, 1, 0, 0)
        assert await sent_since(s, "mail", T0 - timedelta(days=1)) == 0
    finally:
        await s.close()
    assert (await inspect_db(storage_url, history))[0] == (4, "new database")


async def test_a_version_5_database_opens_with_its_data(storage_url: str) -> None:
    await load_snapshot(storage_url, 5)
    s = await open_store(storage_url)
    try:
        summary = await s.outbox_summary()
        assert (summary.pending, summary.digest, summary.dead, summary.delivered) == (1, 1, 1, 1)
        # a later copy of the strait story finds it through the story index
        copy = item("guid:6", "Strait tensions rise as warships gather")
        later = T0 + timedelta(hours=3)
        async with s.serialized() as unit:
            story = await StoryBook(timedelta(hours=24)).assign(copy, later, unit)
            await unit.record_item(copy, [], later, story=story)
        assert story.story_id == "guid:1"
        # past the window the snapshot's three story items leave the index, and
        # stay sources of their stories
        assert await s.prune(cuts(story_bands=T0 + timedelta(hours=1))) == Pruned(story_bands=195)
        sources = await s.story_sources("guid:1")
        assert [src.link for src in sources] == [
            "https://news.example.org/guid:1",
            "https://news.example.org/guid:2",
            copy.link,
        ]
    finally:
        await s.close()
    assert (await inspect_db(storage_url, history))[0] == (5, "new database")


async def test_a_version_6_database_opens_with_its_subscriptions(storage_url: str) -> None:
    await load_snapshot(storage_url, 6)
    s = await open_store(storage_url)
    try:
        summary = await s.outbox_summary()  # the rows of version 5 came along
        assert (summary.pending, summary.digest, summary.dead, summary.delivered) == (1, 1, 1, 1)
        world = await s.subscription(FEED)
        assert world is not None and world.state == "active" and world.revision == 1
        assert world.lease_expires_at == T0 + timedelta(days=7, hours=2)
        assert world.live(T0 + timedelta(days=7)) and not world.live(T0 + timedelta(days=8))
        other = await s.subscription_by_callback("cb-other")
        assert other is not None and other.state == "denied"
        assert other.last_error == "not on this hub"
        due = await s.due_subscriptions(T0 + timedelta(days=6))
        assert [sub.callback_id for sub in due] == ["cb-other", "cb-world"]
        assert await s.swap_subscription(world, None)
        assert not await s.swap_subscription(world, None)  # gone: a stale revision
    finally:
        await s.close()
    assert (await inspect_db(storage_url, history))[0] == (6, "new database")


async def test_a_version_6_database_learns_each_feeds_interval_afresh(storage_url: str) -> None:
    await load_snapshot(storage_url, 6)
    s = await open_store(storage_url)
    try:
        state = await s.feed_state(FEED)
        assert state is not None and state.etag == 'W/"abc"' and state.cadence_s == 1800
        assert (state.item_gap_s, state.ttl_s) == (None, None)  # nothing learned yet
        await s.save_feed_state(replace(state, item_gap_s=600.0, ttl_s=3600.0))
        assert await s.feed_state(FEED) == replace(state, item_gap_s=600.0, ttl_s=3600.0)
    finally:
        await s.close()
    assert (7, STEPS[5].summary) in await inspect_db(storage_url, history)


async def test_a_version_7_database_opens_with_what_polling_learned(storage_url: str) -> None:
    await load_snapshot(storage_url, 7)
    s = await open_store(storage_url)
    try:
        state = await s.feed_state(FEED)
        assert state is not None and (state.item_gap_s, state.ttl_s) == (1500, 900)
        assert state.etag == 'W/"abc"' and state.health == "silent"
        world = await s.subscription(FEED)  # the rows of version 6 came along
        assert world is not None and world.state == "active"
    finally:
        await s.close()
    assert (await inspect_db(storage_url, history))[0] == (7, "new database")


async def test_a_version_8_database_opens_with_the_feeds_added_at_run_time(
    storage_url: str,
) -> None:
    await load_snapshot(storage_url, 8)
    s = await open_store(storage_url)
    try:
        added = await s.managed_feeds()
        assert [(f.url, f.name, f.interval_s) for f in added] == [
            ("https://blog.example.org/atom.xml", "Example blog", None),
            ("https://wire.example.net/rss", None, 300.0),
        ]
        state = await s.feed_state(FEED)  # the rows of version 7 came along
        assert state is not None and (state.item_gap_s, state.ttl_s) == (1500, 900)
    finally:
        await s.close()


async def test_a_version_9_database_opens_with_its_mutes_and_acknowledgements(
    storage_url: str,
) -> None:
    await load_snapshot(storage_url, 9)
    s = await open_store(storage_url)
    try:
        assert [(m.rule, m.until) for m in await s.mutes(T0)] == [
            ("taiwan", T0 + timedelta(hours=8))
        ]
        assert [(a.alert_id, a.until) for a in await s.acknowledgements(T0)] == [
            (1, T0 + timedelta(days=1))
        ]
        assert len(await s.managed_feeds()) == 2  # the rows of version 8 came along
    finally:
        await s.close()


@pytest.mark.parametrize("version", SNAPSHOTS)
async def test_an_upgraded_database_matches_a_new_one(storage_url: str, version: int) -> None:
    # Fails when monitor/store/schema.py changes without a step in STEPS that
    # makes the same change to an existing database.
    await load_snapshot(storage_url, version)
    upgraded = await open_store(storage_url)
    await upgraded.close()
    old = await inspect_db(storage_url, shape)

    await drop_everything(storage_url)
    new = await open_store(storage_url)
    await new.close()
    assert await inspect_db(storage_url, shape) == old


async def test_steps_upgrade_an_older_database_in_order_and_once(storage_url: str) -> None:
    await load_snapshot(storage_url, 1)
    s = SqlStore(storage_url, steps=AFTER_NEXT)
    await s.open()
    try:
        assert await unseen(storage_url, ["guid:1", "guid:9"]) == {"guid:9"}  # the data came along
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
    applied = [ADOPTED, *SHIPPED, (NOTE.version, NOTE.summary), (SEEN_AT.version, SEEN_AT.summary)]
    assert await inspect_db(storage_url, history) == applied

    # opened again, nothing runs twice (ADD COLUMN twice would fail)
    again = SqlStore(storage_url, steps=AFTER_NEXT)
    await again.open()
    await again.close()
    assert await inspect_db(storage_url, history) == applied


async def test_a_failed_step_leaves_the_database_as_it_was(storage_url: str) -> None:
    plain = await open_store(storage_url)
    await plain.close()
    rebuild = Step(SEEN_AT.version, "rebuild the outbox", fail)
    broken = SqlStore(storage_url, steps=[*NEXT, rebuild])
    failed = rf"to version {rebuild.version} \(rebuild the outbox\) failed.*disk full"
    with pytest.raises(ConfigError, match=failed):
        await broken.open()

    def feed_columns(conn: Connection) -> list[str]:
        return [c["name"] for c in inspect(conn).get_columns("feeds")]

    assert "note" not in await inspect_db(storage_url, feed_columns)  # NOTE was rolled back
    assert await inspect_db(storage_url, history) == [(SCHEMA_VERSION, "new database")]
    fixed = SqlStore(storage_url, steps=NEXT)
    await fixed.open()
    await fixed.close()
    assert "note" in await inspect_db(storage_url, feed_columns)


async def test_a_database_from_a_newer_newsmon_is_refused_untouched(storage_url: str) -> None:
    current = await open_store(storage_url)
    await current.close()
    newer = SqlStore(storage_url, steps=AFTER_NEXT)
    await newer.open()
    it = item()
    await newer.record_item(it, [alert(it, "mail")], T0)
    await newer.close()

    too_new = f"schema version {SEEN_AT.version}, but this newsmon knows versions up to "
    with pytest.raises(ConfigError, match=too_new + str(SCHEMA_VERSION)):
        await open_store(storage_url)
    with pytest.raises(ConfigError, match=rf"^storage .* knows versions up to {NOTE.version}"):
        await SqlStore(storage_url, steps=NEXT).open()
    versions = [SCHEMA_VERSION, NOTE.version, SEEN_AT.version]
    assert [v for v, _ in await inspect_db(storage_url, history)] == versions
    reopened = SqlStore(storage_url, steps=AFTER_NEXT)
    await reopened.open()
    try:
        assert (await reopened.outbox_summary()).pending == 1
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
    await load_snapshot(storage_url, 1)
    stores = [SqlStore(storage_url, steps=NEXT) for _ in range(6)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert await inspect_db(storage_url, history) == [
        ADOPTED,
        *SHIPPED,
        (NOTE.version, NOTE.summary),
    ]


def test_the_shipped_steps_are_in_order() -> None:
    assert latest_version(STEPS) == SCHEMA_VERSION == 1 + len(STEPS)
    assert tuple(range(1, SCHEMA_VERSION + 1)) == SNAPSHOTS  # freeze every version
    step = Step(3, "three", fail)
    with pytest.raises(ValueError, match="step 3 out of order: expected 2"):
        latest_version([step])
    with pytest.raises(ValueError, match="step 3 out of order: expected 4"):
        latest_version([Step(2, "two", fail), step, step])
