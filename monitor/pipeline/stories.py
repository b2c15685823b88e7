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
from operator import itemgetter

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
        return await self.step(unit, now).assign(item)

    def step(self, unit: StoreUnit, now: datetime) -> StoryStep:
        """The lookups of one ``serialized`` step, for items all recorded at its end."""
        return StoryStep(self, unit, now)


class StoryStep:
    """The stories of a serialized step's items, in order. The step records
    its items together at its end (``StoreUnit.keep``): until then, each item
    is also looked for among the step's earlier ones, held here as the store
    would file them, so a copy joins a story that began just before it."""

    def __init__(self, book: StoryBook, unit: StoreUnit, now: datetime) -> None:
        self._book = book
        self._unit = unit
        self._now = now
        # the step's items so far: their keys, fingerprint, and what they are as candidates
        self._earlier: list[tuple[frozenset[int], str, StoryCandidate]] = []

    async def assign(self, item: Item) -> StoryEntry:
        """``StoryBook.assign``, seeing the step's earlier items too."""
        book, now = self._book, self._now
        sig = signature(item.title, item.summary or item.content)
        keys = story_keys(sig, item.link)
        rows = await self._unit.story_candidates(keys, now - book.window)
        candidates = []
        for row in rows:
            try:
                found = StorySignature.from_bytes(row.signature)
            except ValueError:  # of another signature version: cannot be compared
                continue
            candidates.append(StoryCandidate(row.story_id, found, row.link, row.seen_at))
        # oldest first, as the store gives them: seen now, after every stored one
        shared = set(keys.all)
        candidates += [
            c for theirs, _, c in sorted(self._earlier, key=itemgetter(1)) if shared & theirs
        ]
        story = best_story(sig, item.link, candidates, threshold=book.threshold)
        entry = StoryEntry(story_id=story or item.fingerprint, signature=sig.to_bytes())
        if shared:  # filed under its keys, as the store files it
            candidate = StoryCandidate(entry.story_id, sig, item.link, now)
            self._earlier.append((frozenset(shared), item.fingerprint, candidate))
        return entry
