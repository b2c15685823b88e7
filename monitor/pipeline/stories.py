"""Stories across outlets: which earlier item, if any, a new item is a copy of.

The index of recent stories lives in memory (``monitor.core.stories``) and is
kept in step with the store, where every worker records its items' signatures:
before each lookup it takes in what was recorded since its last look, so a
copy matched on another worker is found here too. The matching stage looks,
joins and records inside one ``Store.serialized`` transaction, so two workers
matching copies of one story at the same moment cannot both start it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.core.items import Item
from monitor.core.stories import StoryEntry, StoryIndex, StorySignature, signature
from monitor.store import StoreUnit

OVERLAP = timedelta(minutes=1)


class StoryBook:
    def __init__(self, window: timedelta) -> None:
        self.window = window
        self.index = StoryIndex(window=window)
        # fingerprints already in the index, by when they were seen: only those a
        # refresh can read again (within OVERLAP of the last one) are kept
        self._known: dict[str, datetime] = {}
        self._since: datetime | None = None

    async def refresh(self, now: datetime, unit: StoreUnit) -> None:
        """Take in the items recorded since the last look (by any worker)."""
        since = self._since or now - self.window
        # look a little further back than last time: another worker's clock, or
        # its transaction, may put a row just before the newest one seen here
        for row in await unit.stories_since(since - OVERLAP):
            if row.fingerprint in self._known:
                continue
            try:
                sig = StorySignature.from_bytes(row.signature)
            except ValueError:  # from another signature version: cannot be compared
                continue
            self.index.add(row.story_id, sig, row.link, row.seen_at)
            self._known[row.fingerprint] = row.seen_at
            since = max(since, row.seen_at)
        self._since = since
        self._known = {fp: at for fp, at in self._known.items() if at >= since - OVERLAP}
        self.index.expire(now)

    async def assign(self, item: Item, now: datetime, unit: StoreUnit) -> StoryEntry:
        """The story ``item`` belongs to: an earlier one it copies, else a new one of
        its own. Pass the ``serialized`` unit the item is recorded in."""
        await self.refresh(now, unit)
        sig = signature(item.title, item.summary or item.content)
        story = self.index.find(sig, item.link, now) or item.fingerprint
        self.index.add(story, sig, item.link, now)
        self._known[item.fingerprint] = now
        return StoryEntry(story_id=story, signature=sig.to_bytes())
