"""What the store keeps for stories, digests, dead letters, rate limits and feed
health (schema version 2), on SQLite and on PostgreSQL (tests/store/conftest.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.core.feeds import FeedState
from monitor.core.items import Item
from monitor.core.outbox import OutboxSummary, Plan
from monitor.core.stories import StoryEntry, signature
from monitor.store import Store, open_store
from tests.store.factories import FEED, T0, alert, due_alerts, item, sent_since, unseen

LEASE = T0 + timedelta(seconds=30)
HOUR = timedelta(hours=1)
SUMMARY = "Warships near Taiwan."


def copy_of(fingerprint: str, feed_title: str, title: str = "Strait tensions rise") -> Item:
    return replace(item(fingerprint, title), feed_title=feed_title)


def entry(story_id: str, title: str = "Strait tensions rise") -> StoryEntry:
    return StoryEntry(story_id, signature(title, SUMMARY).to_bytes())


def counts(summary: OutboxSummary) -> tuple[int, int, int, int]:
    return summary.pending, summary.digest, summary.dead, summary.delivered


# stories ---------------------------------------------------------------------------


async def test_a_story_alerts_each_channel_once_however_many_copies_arrive(
    store: Store, storage_url: str
) -> None:
    first = copy_of("guid:1", "Example World")
    story = entry("guid:1")
    alerts = [alert(first, "mail"), alert(first, "chat")]
    ids = await store.record_item(first, alerts, T0, story=story)
    assert len(ids) == 2

    # a later copy from another feed: mail and chat heard of the story, sms did not
    second = copy_of("guid:2", "Other Wire")
    later = T0 + timedelta(minutes=3)
    copies = [alert(second, ch) for ch in ("mail", "sms", "chat")]
    assert list(await store.record_item(second, copies, later, story=story)) == ["sms"]
    due = await due_alerts(storage_url, later)
    assert sorted((p.alert.channel, p.alert.fingerprint) for p in due) == [
        ("chat", "guid:1"),
        ("mail", "guid:1"),
        ("sms", "guid:2"),
    ]
    assert {p.story for p in due} == {"guid:1"}

    # the copy is seen (never recorded twice) and listed as a source of the story
    assert await unseen(storage_url, ["guid:2"]) == set()
    assert await store.record_item(second, copies, later, story=story) == {}
    sources = await store.story_sources("guid:1")
    assert [(s.feed_title, s.title, s.link, s.seen_at) for s in sources] == [
        ("Example World", first.title, first.link, T0),
        ("Other Wire", second.title, second.link, later),
    ]
    assert await store.story_sources("guid:404") == []


async def test_items_without_a_story_alert_once_per_item(store: Store) -> None:
    one, two = copy_of("guid:1", "A"), copy_of("guid:2", "B")  # same title, no story
    assert len(await store.record_item(one, [alert(one, "mail")], T0)) == 1
    assert len(await store.record_item(two, [alert(two, "mail")], T0)) == 1
    assert await store.story_sources("guid:1") == []  # nothing kept for stories
    assert await store.reported_stories(T0 - HOUR, sources=1) == []


async def test_record_item_names_the_channel_of_each_new_alert(
    store: Store, storage_url: str
) -> None:
    first, second = copy_of("guid:1", "A"), copy_of("guid:2", "B")
    made = await store.record_item(first, [alert(first, "mail")], T0, story=entry("s"))
    copies = [alert(second, "mail"), alert(second, "chat")]
    added = await store.record_item(second, copies, T0, story=entry("s"))
    assert list(made) == ["mail"] and list(added) == ["chat"]
    [pending] = [p for p in await due_alerts(storage_url, T0) if p.id == added["chat"]]
    assert pending.alert == alert(second, "chat")


async def test_reported_stories_are_counted_from_what_was_recorded_before_a_restart(
    storage_url: str,
) -> None:
    seen = [
        ("guid:1", "s1", "Taiwan strait tensions rise as warships gather", T0),
        ("guid:2", "s2", "Grain talks resume in Geneva after long pause", T0 + HOUR),
        ("guid:3", "s1", "Warships gather as Taiwan strait tensions rise", T0 + 2 * HOUR),
    ]
    before = await open_store(storage_url)
    try:
        for fingerprint, story_id, title, at in seen:
            it = copy_of(fingerprint, "Example World", title)
            await before.record_item(it, [], at, story=entry(story_id, title))
    finally:
        await before.close()

    after = await open_store(storage_url)  # a new process: only the store remembers
    try:
        # strictly after T0: guid:1 is left out, so s1 has one copy there
        assert await after.reported_stories(T0) == []
        assert await after.reported_stories(T0, sources=1) == ["s2", "s1"]
        assert await after.reported_stories(T0 - timedelta(microseconds=1)) == ["s1"]
        assert await after.reported_stories(T0 - HOUR, sources=1) == ["s1", "s2"]
    finally:
        await after.close()


# plans and digests -------------------------------------------------------------------


async def test_plans_set_each_channels_first_attempt_and_digest(
    store: Store, storage_url: str
) -> None:
    it = item()
    quiet_end = T0 + 8 * HOUR
    plans = {
        "mail": Plan(not_before=quiet_end),  # held through quiet hours
        "chat": Plan(not_before=T0, digest_due=T0 + HOUR),  # in the 13:00 digest
        "sms": Plan(not_before=LEASE),  # sent now: leased to the notify agent
    }
    alerts = [alert(it, ch) for ch in ("mail", "chat", "sms")]
    ids = await store.record_item(it, alerts, T0, plans=plans)
    mail, chat, sms = ids["mail"], ids["chat"], ids["sms"]

    # sms: the lease, then the retry loop; mail waits; chat is digest-only
    assert await due_alerts(storage_url, T0) == []
    assert [p.id for p in await due_alerts(storage_url, LEASE)] == [sms]
    assert [p.id for p in await due_alerts(storage_url, quiet_end)] == sorted([mail, sms])
    assert [p.id for p in await store.claim_alerts(quiet_end, quiet_end + HOUR)] == sorted(
        [mail, sms]
    )
    assert counts(await store.outbox_summary()) == (2, 1, 0, 0)

    assert await store.claim_digests(T0 + HOUR - timedelta(seconds=1), LEASE + HOUR) == {}
    digests = await store.claim_digests(T0 + HOUR, T0 + HOUR + timedelta(minutes=1))
    [pending] = digests["chat"]
    assert (pending.id, pending.digest_due, pending.story) == (chat, T0 + HOUR, it.fingerprint)
    assert pending.next_attempt_at == T0 + HOUR + timedelta(minutes=1)  # leased
    assert list(digests) == ["chat"]


async def test_digests_are_claimed_by_channel_once_and_settled_together(
    store: Store, storage_url: str
) -> None:
    due = T0 + HOUR
    ids: dict[str, list[int]] = {"mail": [], "chat": []}
    for n in range(5):
        it = item(f"guid:{n}")
        channels = ["mail", "chat"] if n % 2 else ["mail"]
        plans = {ch: Plan(not_before=T0, digest_due=due) for ch in channels}
        made = await store.record_item(it, [alert(it, ch) for ch in channels], T0, plans=plans)
        for ch in channels:
            ids[ch].append(made[ch])
    later = item("guid:late")  # in the next digest, not this one
    plan = {"mail": Plan(not_before=T0, digest_due=due + HOUR)}
    [next_digest] = (
        await store.record_item(later, [alert(later, "mail")], T0, plans=plan)
    ).values()

    lease = due + timedelta(minutes=2)
    digests = await store.claim_digests(due, lease)
    assert {ch: [p.id for p in rows] for ch, rows in digests.items()} == ids
    assert [p.alert.fingerprint for p in digests["mail"]] == [f"guid:{n}" for n in range(5)]
    assert await store.claim_digests(due + timedelta(minutes=1), lease) == {}  # leased
    assert await due_alerts(storage_url, due + 2 * HOUR) == []  # digest rows never go alone

    await store.mark_delivered_many(ids["mail"], due)
    # chat's digest failed: its rows stay in the digest and come back after the retry
    for alert_id in ids["chat"]:
        await store.mark_failed(alert_id, "HTTP 502", due + timedelta(minutes=5), due)
    retried = await store.claim_digests(due + timedelta(minutes=5), due + timedelta(minutes=7))
    assert {ch: [p.id for p in rows] for ch, rows in retried.items()} == {"chat": ids["chat"]}
    assert {p.attempts for p in retried["chat"]} == {1}
    assert counts(await store.outbox_summary()) == (0, 3, 0, 5)

    # one message for mail's digest, counted for its rate limit
    assert await sent_since(store, "mail", due - timedelta(seconds=1)) == 1
    assert await sent_since(store, "chat", due - timedelta(seconds=1)) == 0
    digests = await store.claim_digests(due + HOUR, due + HOUR + timedelta(minutes=1))
    assert [p.id for p in digests["mail"]] == [next_digest]


# dead letters -------------------------------------------------------------------------


async def test_dead_letters_are_never_claimed_again(store: Store, storage_url: str) -> None:
    rows: list[int] = []
    for n in range(3):
        it = item(f"guid:{n}")
        rows += (await store.record_item(it, [alert(it, "mail")], T0)).values()
    first, second, third = rows
    await store.mark_failed(first, "Connection refused", T0 + timedelta(minutes=1), T0)
    await store.mark_dead(first, "HTTP 401 Unauthorized", T0 + timedelta(minutes=1))
    await store.mark_dead(third, "HTTP 404", T0 + timedelta(minutes=2))

    far = T0 + timedelta(days=30)
    assert [p.id for p in await due_alerts(storage_url, far)] == [second]
    assert [p.id for p in await store.claim_alerts(far, far + HOUR)] == [second]
    lapsed = far + 2 * HOUR  # that claim lapsed: the live row alone comes back
    assert [p.id for p in await store.claim_alerts(lapsed, lapsed + HOUR)] == [second]
    assert counts(await store.outbox_summary()) == (1, 0, 2, 0)

    # a late failure report does not bring a dead letter back
    await store.mark_failed(first, "late", T0, T0 + timedelta(minutes=3))
    await store.mark_dead(third, "again", T0 + timedelta(minutes=4))
    dead = await store.dead_letters()
    assert [(p.id, p.last_error, p.attempts) for p in dead] == [
        (third, "HTTP 404", 1),
        (first, "HTTP 401 Unauthorized", 2),
    ]  # most recently given up first
    assert dead[0].dead_at == T0 + timedelta(minutes=2)
    assert [p.id for p in await store.dead_letters(limit=1)] == [third]
    assert counts(await store.outbox_summary()) == (1, 0, 2, 0)

    # a slow sender whose claim had lapsed got it through after all: it was delivered
    await store.mark_delivered(first, T0 + timedelta(minutes=5))
    assert [p.id for p in await store.dead_letters()] == [third]
    assert counts(await store.outbox_summary()) == (1, 0, 1, 1)


async def test_a_dead_digest_row_leaves_the_digest(store: Store) -> None:
    it = item()
    plans = {"mail": Plan(not_before=T0, digest_due=T0 + HOUR)}
    [row] = (await store.record_item(it, [alert(it, "mail")], T0, plans=plans)).values()
    await store.mark_dead(row, "channel removed from the Apprise config", T0)
    assert await store.claim_digests(T0 + HOUR, T0 + 2 * HOUR) == {}
    assert [p.digest_due for p in await store.dead_letters()] == [T0 + HOUR]


# messages and rate limits ---------------------------------------------------------------


async def test_sent_since_counts_each_channels_messages_in_the_window(store: Store) -> None:
    rows: list[int] = []
    for n in range(3):
        it = item(f"guid:{n}")
        rows += (await store.record_item(it, [alert(it, "mail")], T0)).values()
    minute = timedelta(minutes=1)
    await store.mark_delivered(rows[0], T0)
    await store.mark_delivered(rows[1], T0 + 10 * minute)
    await store.mark_delivered_many([rows[2]], T0 + 20 * minute, kind="alert")
    await store.record_message("mail", T0 + 30 * minute, "admin")
    await store.record_message("chat", T0 + 30 * minute, "admin")

    assert await sent_since(store, "mail", T0 - minute) == 4
    assert await sent_since(store, "mail", T0) == 3  # after since, not at it
    assert await sent_since(store, "mail", T0 + 25 * minute) == 1
    assert await sent_since(store, "mail", T0 + 30 * minute) == 0
    assert await sent_since(store, "chat", T0) == 1
    assert await sent_since(store, "sms", T0 - HOUR) == 0
    paris = timezone(timedelta(hours=2))
    assert await sent_since(store, "mail", datetime(2024, 5, 1, 14, 15, tzinfo=paris)) == 2
    assert counts(await store.outbox_summary()) == (0, 0, 0, 3)
    with pytest.raises(ValueError, match="message kind 'sms'"):
        await store.record_message("mail", T0, "sms")  # type: ignore[arg-type]


async def test_the_rate_limit_counts_an_alert_once_going_out_or_sent(store: Store) -> None:
    async def counted(excluding: tuple[int, ...] = ()) -> int:
        async with store.serialized() as unit:
            return await unit.counted("chat", T0 - HOUR, LEASE, excluding)

    async def record(fingerprint: str, channel: str, plan: Plan) -> int:
        it = item(fingerprint)
        [alert_id] = (
            await store.record_item(it, [alert(it, channel)], T0, plans={channel: plan})
        ).values()
        return alert_id

    sending = await record("guid:1", "chat", Plan(not_before=LEASE))  # leased to be sent now
    await record("guid:2", "chat", Plan(not_before=T0 + HOUR))  # held past the lease
    await record("guid:3", "chat", Plan(not_before=T0, digest_due=T0 + HOUR))  # in a digest
    await record("guid:4", "mail", Plan(not_before=LEASE))  # another channel
    assert await counted() == 1
    assert await counted((sending,)) == 0  # being decided again: not yet counted
    await store.mark_delivered(sending, T0)
    assert await counted() == 1  # sent now, not going out: still once
    await store.record_message("chat", T0, "admin")
    assert await counted() == 2


# feed health ----------------------------------------------------------------------------


async def test_feed_health_round_trips(store: Store) -> None:
    await store.claim_feed(FEED, T0, T0)  # a feed first known through a claim starts healthy
    state = await store.feed_state(FEED)
    assert state is not None and state.health == "ok"
    assert (state.last_new_item_at, state.cadence_s) == (None, None)

    paris = timezone(timedelta(hours=2))
    silent = replace(
        state,
        last_new_item_at=datetime(2024, 5, 1, 9, 30, tzinfo=paris),
        cadence_s=1234.5,
        health="silent",
    )
    await store.save_feed_state(silent)
    got = await store.feed_state(FEED)
    assert got == silent
    assert got is not None and got.last_new_item_at is not None
    assert got.last_new_item_at.tzinfo == UTC and got.last_new_item_at.hour == 7

    for health in ("failing", "ok"):
        await store.save_feed_state(replace(silent, health=health))
        got = await store.feed_state(FEED)
        assert got is not None and got.health == health
    with pytest.raises(ValueError, match="feed health 'dead'"):
        await store.save_feed_state(FeedState(url=FEED, health="dead"))  # type: ignore[arg-type]
