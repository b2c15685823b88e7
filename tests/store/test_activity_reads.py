"""The web API's reads (monitor.store.reads), on SQLite and on PostgreSQL: alerts
in every state filtered by time, rule and channel in SQL, newest first; rule
hits and feed items counted by the hour; every feed's state; the ping."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.core.activity import AlertQuery, Tally
from monitor.core.feeds import FeedState
from monitor.core.outbox import Plan
from monitor.core.stories import StoryEntry, signature
from monitor.store import Store
from tests.store.factories import FEED, T0, alert, item

MINUTE = timedelta(minutes=1)


async def fill(store: Store) -> dict[str, int]:
    """Three stories: a Taiwan one to mail and chat (sent to mail), a tariffs one
    to mail (given up), one of both rules to chat (in a digest); an hour apart."""
    taiwan, tariffs, both = item("guid:t"), item("guid:x", "Tariffs up"), item("guid:b")
    ids = await store.record_item(
        taiwan,
        [alert(taiwan, "mail"), alert(taiwan, "chat")],
        T0,
        story=StoryEntry("guid:t", signature("Strait tensions rise", "").to_bytes()),
    )
    ids2 = await store.record_item(
        tariffs, [alert(tariffs, "mail", ("tariffs",))], T0 + 60 * MINUTE
    )
    await store.mark_delivered(ids["mail"], T0 + MINUTE)
    await store.mark_dead(ids2["mail"], "smtp said no", T0 + 61 * MINUTE)
    ids3 = await store.record_item(
        both,
        [alert(both, "chat", ("taiwan", "tariffs"))],
        T0 + 120 * MINUTE,
        plans={"chat": Plan(T0 + 120 * MINUTE, digest_due=T0 + 180 * MINUTE)},
    )
    return {"t-mail": ids["mail"], "t-chat": ids["chat"], "x": ids2["mail"], "b": ids3["chat"]}


async def test_alerts_in_every_state_newest_first_filtered_in_sql(store: Store) -> None:
    ids = await fill(store)
    every = await store.recent_alerts(AlertQuery())
    together = sorted((ids["t-mail"], ids["t-chat"]), reverse=True)  # made at once: by id
    assert [r.id for r in every] == [ids["b"], ids["x"], *together]
    assert {r.id: r.state for r in every} == {
        ids["b"]: "digest",
        ids["x"]: "dead",
        ids["t-chat"]: "pending",
        ids["t-mail"]: "sent",
    }
    dead = next(r for r in every if r.state == "dead")
    assert dead.last_error == "smtp said no" and dead.dead_at == T0 + 61 * MINUTE
    sent = next(r for r in every if r.state == "sent")
    assert sent.delivered_at == T0 + MINUTE and sent.story == "guid:t"
    assert sent.alert.snippet == "Warships near **Taiwan**."

    async def listed(**query: Any) -> list[int]:
        return [r.id for r in await store.recent_alerts(AlertQuery(**query))]

    assert await listed(rule="tariffs") == [ids["b"], ids["x"]]
    assert await listed(rule="taiwan", channels=("chat",)) == [ids["b"], ids["t-chat"]]
    assert await listed(channels=()) == []
    assert await listed(since=T0 + 30 * MINUTE, until=T0 + 90 * MINUTE) == [ids["x"]]
    assert await listed(limit=1) == [ids["b"]]
    assert await listed(rule="no-such-rule") == []
    # a name that only looks like part of a JSON list matches nothing
    assert await listed(rule='taiwan", "tariffs') == []


async def test_rule_hits_count_stories_once_across_channels_by_the_hour(store: Store) -> None:
    await fill(store)
    hits = await store.rule_hits(T0 - MINUTE)
    assert sorted(hits, key=lambda t: (t.key, t.hour)) == [
        Tally("taiwan", T0, 1),  # mail and chat: one story
        Tally("taiwan", T0 + timedelta(hours=2), 1),
        Tally("tariffs", T0 + timedelta(hours=1), 1),
        Tally("tariffs", T0 + timedelta(hours=2), 1),
    ]
    assert await store.rule_hits(T0 + 150 * MINUTE) == []


async def test_feed_items_by_the_hour_and_every_feed_state(store: Store) -> None:
    other = "https://other.example.org/feed.xml"
    await store.record_quiet(
        [item("q1"), item("q2"), replace(item("q3"), feed=other)], T0 + 5 * MINUTE
    )
    await store.record_quiet([item("q4")], T0 + 65 * MINUTE)
    assert sorted(await store.feed_items(T0), key=lambda t: (t.key, t.hour)) == [
        Tally(FEED, T0, 2),
        Tally(FEED, T0 + timedelta(hours=1), 1),
        Tally(other, T0, 1),
    ]
    state = FeedState(FEED, failures=3, last_error="HTTP 503", health="failing")
    await store.save_feed_state(state)
    assert await store.feed_states() == {FEED: state}


async def test_the_ping_answers_and_a_sqlite_file_gone_does_not(
    store: Store, storage_url: str, db_path: Path
) -> None:
    await store.ping()
    if not storage_url.startswith("sqlite"):
        return
    moved = db_path.with_suffix(".moved")
    db_path.rename(moved)
    with pytest.raises(Exception, match="unable to open database file"):
        await store.ping()
    moved.rename(db_path)
    await store.ping()
