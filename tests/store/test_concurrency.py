"""Several workers on one database: each runs its own store (its own engine and
connections), and the database alone keeps them from doing the same work twice.
Each test races many calls at once across two stores, on both backends."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from monitor.core.feeds import FeedState
from monitor.core.outbox import Plan
from monitor.core.stories import StoryEntry
from monitor.store.sql import SqlStore
from tests.store.factories import T0, alert, due_alerts, item

Workers = tuple[SqlStore, SqlStore]


async def test_an_item_delivered_to_every_worker_alerts_once(
    two_stores: Workers, storage_url: str
) -> None:
    # a redelivery or a rebalance hands the same items to both workers at once
    items = [item(f"guid:{n}") for n in range(15)]
    channels = ["mail", "chat", "sms"]
    calls = [
        store.record_item(it, [alert(it, ch) for ch in channels], T0)
        for it in items
        for store in two_stores * 2
    ]
    results = await asyncio.gather(*calls)
    enqueued = [alert_id for ids in results for alert_id in ids.values()]
    assert len(enqueued) == len(set(enqueued)) == len(items) * len(channels)
    winners_per_item = Counter(n // 4 for n, ids in enumerate(results) if ids)
    assert set(winners_per_item.values()) == {1}  # one of the four calls per item won
    pending = await due_alerts(storage_url, T0, limit=100)
    assert Counter((p.alert.fingerprint, p.alert.channel) for p in pending) == Counter(
        {(it.fingerprint, ch): 1 for it in items for ch in channels}
    )


async def test_racing_claims_hand_every_due_alert_to_exactly_one_worker(
    two_stores: Workers,
) -> None:
    a, b = two_stores
    ids: list[int] = []
    for n in range(60):
        it = item(f"guid:{n}")
        ids += (await a.record_item(it, [alert(it, "mail")], T0)).values()
    lease = T0 + timedelta(seconds=30)
    claims = await asyncio.gather(*(s.claim_alerts(T0, lease, limit=10) for s in (a, b) * 4))
    claimed = [p.id for claim in claims for p in claim]
    assert len(claimed) == len(set(claimed))  # never the same row twice
    assert sorted(claimed) == ids  # and none left behind: 8 claims of 10 cover 60
    assert all(p.next_attempt_at == lease for claim in claims for p in claim)
    assert await b.claim_alerts(T0 + timedelta(seconds=29), lease) == []

    # the claims lapse together; the next race splits them again, once each
    later = lease + timedelta(seconds=30)
    again = await asyncio.gather(*(s.claim_alerts(lease, later, limit=7) for s in (b, a) * 5))
    reclaimed = [p.id for claim in again for p in claim]
    assert sorted(reclaimed) == ids


async def test_copies_of_one_story_recorded_at_once_alert_each_channel_once(
    two_stores: Workers, storage_url: str
) -> None:
    # several feeds carry the story; the workers get the copies at the same time,
    # with the channels in different orders (a config reload between them)
    copies = [item(f"guid:{n}") for n in range(8)]
    story = StoryEntry("story:1", b"\x01signature")
    orders = (["mail", "chat", "sms"], ["sms", "chat", "mail"])
    calls = [
        store.record_item(it, [alert(it, ch) for ch in orders[n % 2]], T0, story=story)
        for n, it in enumerate(copies)
        for store in two_stores
    ]
    results = await asyncio.gather(*calls)
    assert len([alert_id for ids in results for alert_id in ids]) == 3
    pending = await due_alerts(storage_url, T0)
    assert sorted(p.alert.channel for p in pending) == ["chat", "mail", "sms"]
    assert {p.story for p in pending} == {"story:1"}
    assert len(await two_stores[0].story_sources("story:1")) == len(copies)


async def test_racing_digest_claims_hand_every_row_to_exactly_one_worker(
    two_stores: Workers,
) -> None:
    a, b = two_stores
    due = T0 + timedelta(hours=1)
    channels = ["mail", "chat", "sms"]
    plans = {ch: Plan(not_before=T0, digest_due=due) for ch in channels}
    its = [item(f"guid:{n}") for n in range(20)]
    made = await asyncio.gather(
        *(a.record_item(it, [alert(it, ch) for ch in channels], T0, plans=plans) for it in its)
    )
    ids = sorted(alert_id for ids in made for alert_id in ids.values())
    lease = due + timedelta(minutes=2)
    claims = await asyncio.gather(*(s.claim_digests(due, lease) for s in (a, b) * 4))
    claimed = [(ch, p) for claim in claims for ch, rows in claim.items() for p in rows]
    assert len(claimed) == len({p.id for _, p in claimed})  # never the same row twice
    assert sorted(p.id for _, p in claimed) == ids  # and none left behind
    assert all(p.alert.channel == ch for ch, p in claimed)
    assert await b.claim_digests(lease - timedelta(seconds=1), lease) == {}

    # the leases lapse together; the next race splits them again, once each
    later = lease + timedelta(minutes=2)
    again = await asyncio.gather(*(s.claim_digests(lease, later) for s in (b, a) * 3))
    assert sorted(p.id for claim in again for rows in claim.values() for p in rows) == ids


async def test_racing_claims_of_feeds_give_each_due_feed_to_one_worker(
    two_stores: Workers,
) -> None:
    urls = [f"https://f{n}.example.org/rss" for n in range(10)]
    until = T0 + timedelta(minutes=5)
    # known and due, the others never polled
    await two_stores[0].save_feed_state(FeedState(url=urls[0], next_poll_at=T0))
    calls = [(url, s.claim_feed(url, T0, until)) for url in urls for s in two_stores * 3]
    won = await asyncio.gather(*(call for _, call in calls))
    winners = Counter(url for (url, _), ok in zip(calls, won, strict=True) if ok)
    assert winners == Counter(urls)
    assert await two_stores[1].due_feeds(urls, T0) == []
