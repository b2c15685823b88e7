"""Alerts sent at the same moment are settled in shared transactions (group
commit), yet each is still its own message: every one becomes history and
counts once against its channel's rate limit, and a digest still counts once
for all its alerts. Also what the notify agent reads for each alert (is it
settled, the story's sources), asked for at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from monitor.core.stories import StoryEntry
from monitor.store import Store
from tests.store.factories import T0, alert, item


async def test_alerts_sent_at_once_each_count_as_a_message(store: Store) -> None:
    ids = []
    for n in range(20):
        it = item(f"guid:{n}", title=f"Story {n}")
        story = StoryEntry(f"story:{n}", b"\x01sig")
        recorded = await store.record_item(
            it, [alert(it, "chat"), alert(it, "email")], T0, story=story
        )
        ids.append(recorded)
    chat = [r["chat"] for r in ids]
    email = [r["email"] for r in ids]
    sent = T0 + timedelta(seconds=1)

    settled = await asyncio.gather(*(store.is_settled(i) for i in chat))
    assert settled == [False] * 20
    await asyncio.gather(*(store.mark_delivered(i, sent) for i in chat))
    await store.mark_delivered_many(email[:5], sent)  # one digest

    settled = await asyncio.gather(*(store.is_settled(i) for i in chat + email))
    assert settled == [True] * 25 + [False] * 15
    async with store.serialized() as unit:
        assert await unit.counted("chat", T0, T0) == 20
        assert await unit.counted("email", T0, T0) == 1 + 15  # the digest, and those to go
    summary = await store.outbox_summary()
    assert (summary.delivered, summary.pending) == (25, 15)
    sources = await asyncio.gather(*(store.story_sources(f"story:{n}") for n in range(20)))
    assert [[s.title for s in found] for found in sources] == [[f"Story {n}"] for n in range(20)]
