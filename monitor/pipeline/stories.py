"""Stories across outlets: which earlier item, if any, a new item is a copy of.

The story index lives in the store, where every worker files its items under
their story keys (``monitor.core.stories``): a lookup reads the items of the
window that share a key with the new one, and the signatures they were filed
with decide. Nothing of the window is held here, so the service's memory does
not grow with it, and a copy matched on another worker is found like any
other. The matching stage looks, joins and records inside one
``Store.serialized`` transaction, so two workers matching copies of one story
at the same moment cannot both start it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.core.items import Item
from monitor.core.stories import (
    DEFAULT_THRESHOLD,
    StoryCandidate,
    StoryEntry,
    StorySignature,
    best_story,
    signature,
    story_keys,
)
from monitor.store import StoreUnit


class StoryBook:
    def __init__(self, window: timedelta, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.window = window
        self.threshold = threshold

    async def assign(self, item: Item, now: datetime, unit: StoreUnit) -> StoryEntry:
        """The story ``item`` belongs to: an earlier one it copies, else a new one of
        its own. Pass the ``serialized`` unit the item is then recorded in (which
        files it under its keys)."""
        sig = signature(item.title, item.summary or item.content)
        rows = await unit.story_candidates(story_keys(sig, item.link), now - self.window)
        candidates = []
        for row in rows:
            try:
                found = StorySignature.from_bytes(row.signature)
            except ValueError:  # of another signature version: cannot be compared
                continue
            candidates.append(StoryCandidate(row.story_id, found, row.link, row.seen_at))
        story = best_story(sig, item.link, candidates, threshold=self.threshold)
        return StoryEntry(story_id=story or item.fingerprint, signature=sig.to_bytes())
