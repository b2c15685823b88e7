"""Retention on SQLite and on PostgreSQL: what ``prune`` forgets of each table,
and what it must keep (monitor.core.retention). The seen mark of an item its
feed still carries stays however old; the service's own pruning is in
tests/store/test_long_run.py."""

from __future__ import annotations

import asyncio
from dataclasses import fields, replace
from datetime import datetime, timedelta

from monitor.core.outbox import Plan
from monitor.core.retention import Pruned
from monitor.core.stories import StoryEntry
from monitor.store import Store
from monitor.store.sql import SqlStore
from tests.store.factories import FEED, T0, alert, cuts, item, sent_since, unseen

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
OTHER = "https://wire.example.net/rss"


async def poll(store: Store, fingerprints: list[str], at: datetime, feed: str = FEED) -> set[str]:
    """What the service does when a poll reads a feed carrying these items."""
    return await store.carried(feed, fingerprints, at, at - HOUR)


async def forget_marks(store: Store, now: datetime, items: timedelta = 30 * DAY) -> int:
    return (await store.prune(cuts(seen_items=now - items))).seen_items


# -- seen marks ------------------------------------------------------------------


async def test_a_poll_says_which_items_are_new(store: Store) -> None:
    await store.record_item(item("guid:1"), [], T0)
    many = [f"guid:{n}" for n in range(1, 1201)]  # more than one statement's worth
    assert await poll(store, many, T0 + HOUR) == set(many) - {"guid:1"}


async def test_the_mark_of_an_item_its_feed_dropped_goes_after_retention(
    store: Store, storage_url: str
) -> None:
    await store.record_item(item("guid:1"), [], T0)
    await store.record_item(item("guid:2"), [], T0)
    await poll(store, ["guid:1", "guid:2"], T0 + 10 * DAY)
    await poll(store, ["guid:2"], T0 + 11 * DAY)  # guid:1 left the feed
    assert await forget_marks(store, T0 + 39 * DAY) == 0  # last found 29 days before
    assert await forget_marks(store, T0 + 41 * DAY) == 1
    assert await unseen(storage_url, ["guid:1", "guid:2"]) == {"guid:1"}


async def test_the_mark_of_an_item_its_feed_still_carries_stays(
    store: Store, storage_url: str
) -> None:
    await store.record_item(item("guid:pinned"), [], T0)
    for day in range(1, 91):  # the feed carries it every day for three months
        now = T0 + day * DAY
        assert await poll(store, ["guid:pinned", f"guid:day{day}"], now) == {f"guid:day{day}"}
        await store.record_item(item(f"guid:day{day}"), [], now)
        await forget_marks(store, now)
    assert await unseen(storage_url, ["guid:pinned", "guid:day1", "guid:day90"]) == {"guid:day1"}


async def test_a_feed_that_answers_not_modified_keeps_its_items(store: Store) -> None:
    # read once, then 304 for two months (no reading): it still carries the item
    await store.record_item(item("guid:1"), [], T0)
    await poll(store, ["guid:1"], T0 + HOUR)
    assert await forget_marks(store, T0 + 60 * DAY) == 0
    # when it changes at last, the item is still known: it never alerts again
    assert await poll(store, ["guid:1", "guid:2"], T0 + 61 * DAY) == {"guid:2"}


async def test_an_item_recorded_after_the_poll_that_found_it_is_carried(store: Store) -> None:
    # the poll reads the feed first; the item is recorded when it has been matched
    assert await poll(store, ["guid:1"], T0) == {"guid:1"}
    await store.record_item(item("guid:1"), [], T0 + timedelta(seconds=2))
    await poll(store, ["guid:1"], T0 + 20 * DAY)  # mark still fresh: not rewritten
    assert await forget_marks(store, T0 + 60 * DAY) == 0


async def test_a_mark_refreshed_within_the_hour_is_not_rewritten(store: Store) -> None:
    await store.record_item(item("guid:1"), [], T0)
    # polled every few minutes: the mark keeps T0 until it is an hour old
    for minutes in range(5, 60, 5):
        await poll(store, ["guid:1"], T0 + timedelta(minutes=minutes))
    await poll(store, ["guid:2"], T0 + 2 * HOUR)  # then it leaves the feed
    # pruned as last found at T0, not at 00:55
    assert await forget_marks(store, T0 + 30 * DAY + timedelta(minutes=30)) == 1


async def test_marks_of_a_feed_nothing_polls_go_after_retention(store: Store) -> None:
    # no feeds row: not configured, never polled by this database's service
    await store.record_item(replace(item("guid:1"), feed=OTHER), [], T0)
    assert await forget_marks(store, T0 + 29 * DAY) == 0
    assert await forget_marks(store, T0 + 31 * DAY) == 1


async def test_a_mark_goes_with_its_text_but_not_with_its_alerts(store: Store) -> None:
    it = item("guid:1")
    [alert_id] = (await store.record_item(it, [alert(it, "mail")], T0)).values()
    await poll(store, ["guid:2"], T0 + DAY)  # it left the feed
    at = T0 + 31 * DAY
    pruned = await store.prune(cuts(item_texts=at - 30 * DAY, seen_items=at - 30 * DAY))
    assert pruned == Pruned(item_texts=1, seen_items=1)
    assert [b async for b in store.items_since(T0 - DAY)] == []
    assert await store.is_settled(alert_id) is False  # still to be sent: kept


async def test_an_item_back_after_its_mark_went_is_recorded_once_more_without_alerts(
    store: Store,
) -> None:
    # it left its feed, its mark went, and it came back: new to the store, but
    # its alert for that channel is still in the outbox: no second alert
    it = item("guid:1")
    await store.record_item(it, [alert(it, "mail")], T0)
    await poll(store, ["guid:2"], T0 + DAY)  # it left the feed
    await forget_marks(store, T0 + 31 * DAY)
    assert await poll(store, ["guid:1"], T0 + 32 * DAY) == {"guid:1"}
    assert await store.record_item(it, [alert(it, "mail")], T0 + 32 * DAY) == {}


# -- stories, messages, alerts ------------------------------------------------------


async def test_story_members_older_than_the_cut_go(store: Store) -> None:
    story = StoryEntry("guid:1", b"\x01sig")
    for n, age in enumerate((40, 31, 29, 1), start=1):
        copy = replace(item(f"guid:{n}"), link=f"https://news.example.org/{n}")
        await store.record_item(copy, [], T0 - age * DAY, story=story)
    assert await store.prune(cuts(story_items=T0 - 30 * DAY)) == Pruned(story_items=2)
    sources = await store.story_sources("guid:1")
    assert [s.link for s in sources] == ["https://news.example.org/3", "https://news.example.org/4"]
    # the pruned copies no longer count: two left
    assert await store.reported_stories(T0 - 365 * DAY, sources=2) == ["guid:1"]
    assert await store.reported_stories(T0 - 365 * DAY, sources=3) == []


async def test_messages_older_than_the_cut_go_and_the_rate_limit_counts_the_rest(
    store: Store,
) -> None:
    for minutes in (150, 120, 61, 59, 10):
        await store.record_message("chat", T0 - timedelta(minutes=minutes), "alert")
    await store.record_message("mail", T0 - 3 * HOUR, "digest")
    assert await store.prune(cuts(messages=T0 - HOUR)) == Pruned(messages=4)
    assert await sent_since(store, "chat", T0 - HOUR) == 2
    assert await sent_since(store, "chat", T0 - DAY) == 2
    assert await sent_since(store, "mail", T0 - DAY) == 0


async def test_delivered_and_dead_alerts_go_and_those_still_to_be_sent_stay(store: Store) -> None:
    ids: dict[str, int] = {}
    at = T0 - 100 * DAY  # every alert is old; what state it is in decides

    async def enqueue(name: str, plan: Plan | None = None) -> int:
        it = item(f"guid:{name}")
        plans = {"mail": plan} if plan else None
        [ids[name]] = (await store.record_item(it, [alert(it, "mail")], at, plans=plans)).values()
        return ids[name]

    await store.mark_delivered(await enqueue("delivered"), at + HOUR)
    await store.mark_dead(await enqueue("dead"), "HTTP 401", at + HOUR)
    await store.mark_delivered(await enqueue("lately"), T0 - DAY)  # delivered yesterday
    await store.mark_dead(await enqueue("given-up-lately"), "HTTP 401", T0 - DAY)
    revived = await enqueue("revived")  # given up, then sent after all: delivered
    await store.mark_dead(revived, "timeout", at + HOUR)
    await store.mark_delivered(revived, at + 2 * HOUR)
    await enqueue("pending")
    await store.mark_failed(await enqueue("retrying"), "timeout", T0 + HOUR, at + HOUR)
    await enqueue("digest", Plan(not_before=at, digest_due=T0 + HOUR))
    await enqueue("held", Plan(not_before=T0 + 7 * HOUR))

    assert await store.prune(cuts(alerts=T0 - 90 * DAY)) == Pruned(alerts=3)
    summary = await store.outbox_summary()
    assert (summary.pending, summary.digest, summary.dead, summary.delivered) == (3, 1, 1, 1)
    assert [p.alert.fingerprint for p in await store.dead_letters()] == ["guid:given-up-lately"]
    for name in ("delivered", "dead", "revived"):
        assert await store.is_settled(ids[name]), name  # gone counts as settled


# -- how it prunes ------------------------------------------------------------------


async def test_pruning_goes_in_batches_until_done(store: Store) -> None:
    for n in range(11):
        await store.record_item(item(f"guid:{n}"), [], T0 - 40 * DAY)
        await store.record_message("chat", T0 - 40 * DAY, "alert")
    everything = cuts(item_texts=T0, seen_items=T0, story_items=T0, messages=T0, alerts=T0)
    assert await store.prune(everything, batch=3) == Pruned(
        item_texts=11, seen_items=11, messages=11
    )
    assert await store.prune(everything, batch=3) == Pruned()


async def test_workers_pruning_at_once_remove_each_row_once(
    two_stores: tuple[SqlStore, SqlStore], storage_url: str
) -> None:
    a, b = two_stores
    old = T0 - 100 * DAY
    for n in range(40):
        it = replace(item(f"guid:{n}"), feed=OTHER)
        story = StoryEntry(f"guid:{n}", b"\x01sig")
        [alert_id] = (await a.record_item(it, [alert(it, "mail")], old, story=story)).values()
        await a.mark_delivered(alert_id, old)  # and a message
    await a.record_item(item("guid:new"), [], T0)
    at = T0 - 50 * DAY
    everything = cuts(item_texts=at, seen_items=at, story_items=at, messages=at, alerts=at)
    removed = await asyncio.gather(*(s.prune(everything, batch=7) for s in (a, b) * 2))
    totals = Pruned(*(sum(getattr(p, f.name) for p in removed) for f in fields(Pruned)))
    assert totals == Pruned(item_texts=40, seen_items=40, story_items=40, messages=40, alerts=40)
    assert await unseen(storage_url, ["guid:0", "guid:new"]) == {"guid:0"}
