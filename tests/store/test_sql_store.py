"""The store, on SQLite and on PostgreSQL: what the service remembers across polls,
alerts and restarts, and what several workers sharing one database may rely on.

Tests that take ``store``, ``two_stores`` or ``storage_url`` run once per backend
(tests/store/conftest.py); the others are about one backend's own matters."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from monitor.core.alerts import Alert
from monitor.core.feeds import DueFeed, FeedState
from monitor.core.outbox import next_attempt
from monitor.errors import ConfigError
from monitor.store import Store, open_store
from monitor.store.sql import SqlStore
from tests.store.factories import FEED, T0, alert, due_alerts, item, unseen

# SQLite's own matters -----------------------------------------------------------


async def test_open_creates_folder_schema_and_wal(db_path: Path) -> None:
    s = await open_store(f"sqlite:///{db_path}")
    await s.close()
    assert db_path.is_file()
    with sqlite3.connect(db_path) as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        journal = raw.execute("PRAGMA journal_mode").fetchone()[0]
        outbox_cols = {r[1] for r in raw.execute("PRAGMA table_info(outbox)")}
    assert {"feeds", "seen_items", "outbox", "schema_version"} <= tables
    assert journal == "wal"
    assert {"fingerprint", "channel", "payload", "attempts", "delivered_at"} <= outbox_cols


@pytest.mark.parametrize("scheme", ["sqlite:///", "sqlite+aiosqlite:///"])
async def test_relative_and_driver_urls(
    scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = await open_store(f"{scheme}rel/state.db")
    try:
        await s.save_feed_state(FeedState(url=FEED))
    finally:
        await s.close()
    assert (tmp_path / "rel" / "state.db").is_file()


async def test_in_memory_store_works() -> None:
    s = await open_store("sqlite://")
    try:
        it = item()
        assert await s.record_item(it, [alert(it, "c1")], T0) != {}
        assert await s.record_item(it, [alert(it, "c1")], T0) == {}  # seen: remembered
    finally:
        await s.close()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u:hunter2@db/newsmon", "unsupported database"),
        ("postgresql://u:hunter2@127.0.0.1:1/newsmon", "cannot connect"),
    ],
)
async def test_bad_storage_urls_are_config_errors(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as err:
        await open_store(url)
    assert "hunter2" not in str(err.value)


# PostgreSQL's own matters ---------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgres", "postgresql+asyncpg"])
async def test_every_postgres_url_spelling_reaches_the_same_database(
    scheme: str, postgres_scratch_url: str
) -> None:
    plain = await open_store(postgres_scratch_url)
    other = await open_store(scheme + postgres_scratch_url.removeprefix("postgresql"))
    try:
        await plain.save_feed_state(FeedState(url=FEED, etag="e1"))
        state = await other.feed_state(FEED)
        assert state is not None and state.etag == "e1"
    finally:
        await plain.close()
        await other.close()


async def test_wrong_postgres_password_or_database_is_a_config_error(
    postgres_service: str,
) -> None:
    real = make_url(postgres_service)
    wrong_password = real.set(password="hunter2").render_as_string(hide_password=False)
    with pytest.raises(ConfigError, match="cannot connect: password authentication failed") as err:
        await open_store(wrong_password)
    assert "hunter2" not in str(err.value)

    missing = real.set(database="newsmon_no_such_db").render_as_string(hide_password=False)
    with pytest.raises(ConfigError, match='database "newsmon_no_such_db" does not exist'):
        await open_store(missing)


async def test_postgres_keeps_instants_whatever_the_server_time_zone(
    postgres_scratch_url: str,
) -> None:
    database = make_url(postgres_scratch_url).database
    raw = await asyncpg.connect(postgres_scratch_url)
    try:
        await raw.execute(f"ALTER DATABASE \"{database}\" SET timezone TO 'Pacific/Auckland'")
        s = await open_store(postgres_scratch_url)  # its sessions start in Auckland time
        try:
            paris = timezone(timedelta(hours=2))
            due = datetime(2024, 5, 1, 14, 5, tzinfo=paris)
            await s.save_feed_state(FeedState(url=FEED, next_poll_at=due))
            state = await s.feed_state(FEED)
            assert state is not None and state.next_poll_at == due
            assert state.next_poll_at is not None and state.next_poll_at.tzinfo == UTC
            assert await s.due_feeds([FEED], due - timedelta(microseconds=1)) == []
            assert [d.url for d in await s.due_feeds([FEED], due)] == [FEED]
        finally:
            await s.close()
        column_types = await raw.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' AND data_type LIKE 'timestamp%'"
        )
        stored = await raw.fetchval("SELECT next_poll_at AT TIME ZONE 'UTC' FROM feeds")
    finally:
        await raw.close()
    assert {r["data_type"] for r in column_types} == {"timestamp with time zone"}
    assert {(r["table_name"], r["column_name"]) for r in column_types} >= {
        ("feeds", "next_poll_at"),
        ("outbox", "next_attempt_at"),
        ("seen_items", "seen_at"),
    }
    assert stored == datetime(2024, 5, 1, 12, 5)


async def test_the_store_reconnects_after_the_server_drops_its_connections(
    postgres_scratch_url: str,
) -> None:
    s = await open_store(postgres_scratch_url)
    try:
        it = item()
        await s.record_item(it, [alert(it, "mail")], T0)
        raw = await asyncpg.connect(postgres_scratch_url)
        try:
            killed = await raw.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await raw.close()
        assert killed >= 1  # the store's pooled connection, as a server restart would
        assert await s.carried(FEED, [it.fingerprint, "guid:2"], T0, T0) == {"guid:2"}
        assert (await s.outbox_summary()).pending == 1
    finally:
        await s.close()


async def test_a_claim_takes_other_rows_than_a_worker_busy_claiming(
    postgres_scratch_url: str,
) -> None:
    s = await open_store(postgres_scratch_url)
    raw = await asyncpg.connect(postgres_scratch_url)
    try:
        ids: list[int] = []
        for n in range(6):
            it = item(f"guid:{n}")
            ids += (await s.record_item(it, [alert(it, "mail")], T0)).values()
        lease = T0 + timedelta(seconds=30)
        async with raw.transaction():
            # another worker is in the middle of claiming the three oldest
            await raw.fetch("SELECT id FROM outbox WHERE id = ANY($1) FOR UPDATE", ids[:3])
            claimed = await asyncio.wait_for(s.claim_alerts(T0, lease, limit=10), 5)
            assert [p.id for p in claimed] == ids[3:]
        # that worker gave up without claiming: its rows are there for the taking
        assert [p.id for p in await s.claim_alerts(T0, lease)] == ids[:3]
    finally:
        await raw.close()
        await s.close()


# feeds ----------------------------------------------------------------------


async def test_feed_state_round_trip_in_utc(store: Store) -> None:
    assert await store.feed_state(FEED) is None
    paris = timezone(timedelta(hours=2))
    state = FeedState(
        url=FEED,
        etag='W/"abc"',
        last_modified="Wed, 01 May 2024 10:00:00 GMT",
        next_poll_at=datetime(2024, 5, 1, 14, 5, tzinfo=paris),
        last_polled_at=datetime(2024, 5, 1, 14, 0, tzinfo=paris),
        failures=2,
        last_status=503,
        last_error="HTTP 503",
    )
    await store.save_feed_state(state)
    got = await store.feed_state(FEED)
    assert got == state  # aware datetimes compare by instant
    assert got is not None and got.next_poll_at is not None
    assert got.next_poll_at.tzinfo == UTC
    assert got.next_poll_at.hour == 12 and got.next_poll_at.minute == 5

    recovered = replace(state, failures=0, last_status=200, last_error=None, etag=None)
    await store.save_feed_state(recovered)
    assert await store.feed_state(FEED) == recovered


async def test_due_feeds_keeps_order_and_skips_future_polls(store: Store) -> None:
    urls = [f"https://f{i}.example.org/rss" for i in range(5)]
    await store.save_feed_state(FeedState(url=urls[1], next_poll_at=T0 + timedelta(minutes=1)))
    await store.save_feed_state(FeedState(url=urls[2], next_poll_at=T0 - timedelta(minutes=1)))
    await store.save_feed_state(FeedState(url=urls[3], next_poll_at=None))
    await store.save_feed_state(FeedState(url=urls[4], next_poll_at=T0))
    # never polled (0), past (2), unset (3) and exactly now (4) are due
    assert await store.due_feeds(urls, T0) == [
        DueFeed(urls[0], None, None),
        DueFeed(urls[2], T0 - timedelta(minutes=1), None),
        DueFeed(urls[3], None, None),
        DueFeed(urls[4], T0, None),
    ]
    assert [d.url for d in await store.due_feeds(urls, T0 + timedelta(minutes=1))] == urls


async def test_due_feeds_say_when_each_was_due_and_last_polled(store: Store) -> None:
    polled = FeedState(url=FEED, last_polled_at=T0, next_poll_at=T0 + timedelta(minutes=5))
    await store.save_feed_state(polled)
    later = T0 + timedelta(minutes=7)
    assert await store.due_feeds([FEED], later) == [DueFeed(FEED, T0 + timedelta(minutes=5), T0)]


async def test_due_feeds_handles_more_urls_than_one_statement_takes(store: Store) -> None:
    urls = [f"https://f{i}.example.org/rss" for i in range(1200)]
    leased = urls[7::150]  # some in every statement's share
    await asyncio.gather(*(store.claim_feed(url, T0, T0 + timedelta(hours=1)) for url in leased))
    assert [d.url for d in await store.due_feeds(urls, T0)] == [u for u in urls if u not in leased]


async def test_a_claimed_feed_is_hidden_until_the_lease_ends(store: Store) -> None:
    await store.save_feed_state(FeedState(url=FEED, etag="e1", failures=1))
    assert await store.claim_feed(FEED, T0, T0 + timedelta(seconds=30))
    assert await store.due_feeds([FEED], T0) == []
    assert [d.url for d in await store.due_feeds([FEED], T0 + timedelta(seconds=30))] == [FEED]
    state = await store.feed_state(FEED)
    assert state is not None and state.etag == "e1" and state.failures == 1  # untouched


async def test_claim_feed_is_won_once_per_due_period(two_stores: tuple[SqlStore, SqlStore]) -> None:
    a, b = two_stores
    until = T0 + timedelta(minutes=5)
    won = await asyncio.gather(*(s.claim_feed(FEED, T0, until) for s in (a, b, a, b)))
    assert sorted(won) == [False, False, False, True]
    assert await a.claim_feed(FEED, T0 + timedelta(minutes=4), until) is False
    assert await b.claim_feed(FEED, until, until + timedelta(minutes=5)) is True


# items and outbox -------------------------------------------------------------


async def test_record_item_enqueues_one_alert_per_channel_once(
    store: Store, storage_url: str
) -> None:
    it = item()
    ids = await store.record_item(it, [alert(it, "mail"), alert(it, "chat")], T0)
    assert sorted(ids) == ["chat", "mail"] and len(set(ids.values())) == 2
    assert await unseen(storage_url, [it.fingerprint, "guid:other"]) == {"guid:other"}

    again = await store.record_item(it, [alert(it, "mail"), alert(it, "chat")], T0)
    assert again == {}
    due = {p.alert.channel: p for p in await due_alerts(storage_url, T0)}
    assert {ch: p.id for ch, p in due.items()} == ids
    assert due["mail"].alert == alert(it, "mail")
    assert due["mail"].attempts == 0 and due["mail"].last_error is None
    assert due["mail"].created_at == T0 and due["mail"].created_at.tzinfo == UTC
    assert due["mail"].story == it.fingerprint  # its own story: one alert per item


async def test_an_item_without_alerts_is_still_remembered(store: Store, storage_url: str) -> None:
    it = item()
    assert await store.record_item(it, [], T0) == {}
    assert await unseen(storage_url, [it.fingerprint]) == set()
    assert await store.record_item(it, [alert(it, "mail")], T0) == {}
    assert (await store.outbox_summary()).pending == 0


async def test_seen_items_and_outbox_survive_a_restart(storage_url: str) -> None:
    it = item()
    first = await open_store(storage_url)
    ids = await first.record_item(it, [alert(it, "mail")], T0)
    await first.close()

    second = await open_store(storage_url)
    try:
        assert await unseen(storage_url, [it.fingerprint]) == set()
        assert await second.record_item(it, [alert(it, "mail")], T0 + timedelta(hours=1)) == {}
        assert [p.id for p in await due_alerts(storage_url, T0)] == list(ids.values())
    finally:
        await second.close()


async def test_concurrent_records_of_one_item_alert_once(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    # two stores on one database: the database, not an in-process lock, must decide
    it = item()
    alerts = [alert(it, f"channel-{n}") for n in range(20)]
    results = await asyncio.gather(*(s.record_item(it, alerts, T0) for s in two_stores * 3))
    winners = [r for r in results if r]
    assert len(winners) == 1 and len(winners[0]) == 20
    assert (await two_stores[0].outbox_summary()).pending == 20


class _Unserialisable(Alert):
    """An alert whose payload cannot be built: the outbox insert fails midway."""

    def to_json(self) -> dict[str, Any]:
        raise RuntimeError("payload lost")


async def test_record_item_is_all_or_nothing(store: Store, storage_url: str) -> None:
    it = item()
    good = alert(it, "mail")
    bad = _Unserialisable(**{f: getattr(good, f) for f in Alert.__dataclass_fields__})
    bad = replace(bad, channel="chat")
    with pytest.raises(RuntimeError, match="payload lost"):
        await store.record_item(it, [good, bad], T0)
    # nothing was kept: the item is still unseen, so the next poll alerts again
    assert await unseen(storage_url, [it.fingerprint]) == {it.fingerprint}
    assert (await store.outbox_summary()).pending == 0
    assert len(await store.record_item(it, [good], T0)) == 1


async def test_record_item_rejects_alerts_for_another_item(store: Store) -> None:
    with pytest.raises(ValueError, match="not about item"):
        await store.record_item(item("guid:1"), [alert(item("guid:2"), "mail")], T0)


async def test_failed_alerts_back_off_and_delivered_ones_stay_as_history(
    store: Store, storage_url: str
) -> None:
    first, second = item("guid:1"), item("guid:2")
    [a_id] = (await store.record_item(first, [alert(first, "mail")], T0)).values()
    [b_id] = (
        await store.record_item(second, [alert(second, "mail")], T0 + timedelta(seconds=1))
    ).values()
    later = T0 + timedelta(seconds=1)
    assert [p.id for p in await due_alerts(storage_url, later)] == [a_id, b_id]  # oldest first
    assert await due_alerts(storage_url, T0 - timedelta(seconds=1)) == []

    retry_at = next_attempt(1, later)
    await store.mark_failed(a_id, "Connection refused", retry_at, later)
    assert [p.id for p in await due_alerts(storage_url, later)] == [b_id]
    await store.mark_delivered(b_id, later)
    assert await due_alerts(storage_url, later) == []

    [retry] = await due_alerts(storage_url, retry_at)
    assert retry.id == a_id and retry.attempts == 1
    assert retry.last_error == "Connection refused" and retry.next_attempt_at == retry_at

    await store.mark_failed(a_id, "still down", next_attempt(2, retry_at), retry_at)
    [retry] = await due_alerts(storage_url, retry_at + timedelta(minutes=10))
    assert retry.attempts == 2 and retry.next_attempt_at == retry_at + timedelta(seconds=4)

    summary = await store.outbox_summary()
    assert (summary.delivered, summary.pending) == (1, 1)
    await store.mark_delivered(a_id, retry_at + timedelta(seconds=4))
    # a late failure report for a delivered alert changes nothing
    await store.mark_failed(a_id, "late", retry_at + timedelta(hours=1), retry_at)
    summary = await store.outbox_summary()
    assert (summary.delivered, summary.pending) == (2, 0)
    assert await due_alerts(storage_url, retry_at + timedelta(days=1)) == []


async def test_claimed_alerts_are_handed_out_once_until_the_claim_lapses(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    a, b = two_stores
    ids: list[int] = []
    for n in range(6):
        it = item(f"guid:{n}")
        ids += (await a.record_item(it, [alert(it, "mail")], T0)).values()
    lease = T0 + timedelta(seconds=30)
    claims = await asyncio.gather(a.claim_alerts(T0, lease, 4), b.claim_alerts(T0, lease, 4))
    claimed = [p.id for c in claims for p in c]
    assert sorted(claimed) == ids and len(set(claimed)) == 6
    assert await a.claim_alerts(T0 + timedelta(seconds=29), lease) == []

    await a.mark_delivered(ids[0], T0 + timedelta(seconds=1))
    lapsed = await b.claim_alerts(lease, lease + timedelta(seconds=30))
    assert [p.id for p in lapsed] == ids[1:]


async def test_a_claimed_alert_waits_for_its_lease_and_a_delivered_one_for_nothing(
    store: Store,
    storage_url: str,
) -> None:
    first, second = item("guid:1"), item("guid:2")
    [a_id] = (await store.record_item(first, [alert(first, "mail")], T0)).values()
    [b_id] = (await store.record_item(second, [alert(second, "mail")], T0)).values()
    lease = T0 + timedelta(seconds=30)
    assert [p.id for p in await store.claim_alerts(T0, lease, limit=1)] == [a_id]
    assert [p.id for p in await due_alerts(storage_url, T0)] == [b_id]
    assert [p.id for p in await due_alerts(storage_url, lease)] == [a_id, b_id]

    await store.mark_delivered(b_id, T0)
    assert [p.id for p in await store.claim_alerts(lease, lease + timedelta(days=1))] == [a_id]
    assert (await store.outbox_summary()).delivered == 1


async def test_a_row_is_settled_once_delivered_or_dead(store: Store) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first, second = item("settle-1"), item("settle-2")
    [a] = (await store.record_item(first, [alert(first, "chan")], now)).values()
    [b] = (await store.record_item(second, [alert(second, "chan")], now)).values()
    assert not await store.is_settled(a)
    await store.mark_delivered(a, now)
    await store.mark_dead(b, "gone", now)
    assert await store.is_settled(a) and await store.is_settled(b)


async def test_an_items_unsettled_alerts_can_be_found_again(store: Store) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    it = item("again-1")
    ids = await store.record_item(it, [alert(it, "a"), alert(it, "b")], now)
    await store.mark_delivered(ids["a"], now)
    assert [p.id for p in await store.unsettled_for(it.fingerprint)] == [ids["b"]]
    assert await store.unsettled_for("no-such-item") == []
