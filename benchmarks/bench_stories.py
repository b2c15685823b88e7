"""Story clustering in the store: lookups per second, disk per story item, and
how often the store's lookup agrees with comparing against every item.

Fills a SQLite store with generated story items (a Zipf-like vocabulary, a
dozen words of title and forty of summary, one in five a re-headlined copy of
an earlier story) spread over the story window, recorded through the store as
the matching stage records them (a thousand to a transaction). Then times new
items through what the matching stage does for each, one ``serialized`` step
apiece: signature, lookup (the items sharing a key with it), decision,
record. For each new item it also finds the story an exhaustive comparison with
every item of the window would pick (the similarity threshold alike), and
counts the candidates the lookup read.

    .venv/bin/python benchmarks/bench_stories.py [--stories 10000] [--items 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.core.items import Item
from monitor.core.stories import (
    DEFAULT_THRESHOLD,
    DEFAULT_WINDOW,
    StorySignature,
    signature,
    story_keys,
)
from monitor.pipeline.stories import StoryBook
from monitor.store import Store, open_store

SYLLABLES = ["ka", "ri", "to", "mu", "sen", "lo", "va", "de", "chi", "zu", "na", "pe", "ro"]
T0 = datetime(2024, 6, 12, tzinfo=UTC)
SPAN = timedelta(hours=23)  # the filled items', within the story window


class Generator:
    def __init__(self, seed: int, vocab_size: int = 30000) -> None:
        self.rng = random.Random(seed)
        words: set[str] = set()
        while len(words) < vocab_size:
            words.add("".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 4))))
        self.vocab = sorted(words)
        self.rng.shuffle(self.vocab)
        self.cum_weights = list(accumulate(1.0 / (rank + 1) for rank in range(vocab_size)))
        self.made: list[tuple[str, str]] = []

    def text(self, n: int) -> str:
        return " ".join(self.rng.choices(self.vocab, cum_weights=self.cum_weights, k=n))

    def story(self) -> tuple[str, str]:
        if self.made and self.rng.random() < 0.2:  # a copy under a new headline
            _, summary = self.rng.choice(self.made)
            story = (self.text(12), summary)
        else:
            story = (self.text(12), self.text(40))
        self.made.append(story)
        return story


def news(n: int, title: str, summary: str) -> Item:
    return Item(
        fingerprint=f"bench:{n}",
        feed="https://example.org/feed",
        feed_title="Bench",
        title=title,
        summary=summary,
        content="",
        link=f"https://example.org/news/2024/06/12/story-{n}",
        published=None,
    )


@dataclass
class Filled:
    items: list[Item]
    signatures: list[StorySignature]
    stories: list[str]
    at: list[datetime]


async def fill(store: Store, gen: Generator, count: int) -> Filled:
    """``count`` story items over SPAN, each in the story the index gives it."""
    book = StoryBook(DEFAULT_WINDOW)
    out = Filled([], [], [], [])
    for start in range(0, count, 1000):
        async with store.serialized() as unit:
            for n in range(start, min(count, start + 1000)):
                item = news(n, *gen.story())
                at = T0 + SPAN * (n / count)
                story = await book.assign(item, at, unit)
                await unit.record_item(item, [], at, story=story)
                out.items.append(item)
                out.signatures.append(StorySignature.from_bytes(story.signature))
                out.stories.append(story.story_id)
                out.at.append(at)
    return out


def _index_bytes(conn: sqlite3.Connection) -> int | None:
    """The story index's pages (its table and the key of story items), when this
    SQLite has the dbstat table."""
    try:
        query = (
            "select sum(pgsize) from dbstat where name in ('story_bands', 'story_items_item_key')"
        )
        return int(conn.execute(query).fetchone()[0])
    except sqlite3.Error:
        return None


def exhaustive(sig: StorySignature, filled: Filled, now: datetime) -> str | None:
    """The story a comparison with every item of the window picks."""
    if sig.empty:
        return None
    values = np.stack([s.hashvalues for s in filled.signatures])
    equal = np.count_nonzero(values == sig.hashvalues, axis=1)
    alive = np.array([at > now - DEFAULT_WINDOW for at in filled.at])
    equal[~alive] = -1
    best = int(np.argmax(equal))
    need = math.ceil(DEFAULT_THRESHOLD * sig.num_perm - 1e-9)
    return filled.stories[best] if equal[best] >= need else None


async def run(stories: int, items: int) -> None:
    gen = Generator(seed=1)
    with tempfile.TemporaryDirectory(prefix="newsmon-stories-") as tmp:
        db = Path(tmp) / "newsmon.db"
        store = await open_store(f"sqlite:///{db}")
        try:
            start = time.perf_counter()
            filled = await fill(store, gen, stories)
            took = time.perf_counter() - start
            print(f"filled: {stories:,} story items in {took:.1f}s ({stories / took:,.0f}/s)")
            with sqlite3.connect(db) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                rows = conn.execute("select count(*) from story_bands").fetchone()[0]
                index = _index_bytes(conn)
            size = db.stat().st_size
            print(
                f"store: {size / stories:,.0f} bytes per story item on disk, "
                + (f"{index / stories:,.0f} of them the story index's " if index else "")
                + f"({rows / stories:.1f} rows each); nothing per item in memory"
            )

            book = StoryBook(DEFAULT_WINDOW)
            now = T0 + SPAN
            t_assign = t_record = 0.0
            joined = agree = candidates = 0
            for i in range(items):
                now += timedelta(seconds=1)
                item = replace(news(stories + i, *gen.story()), fingerprint=f"new:{i}")
                sig = signature(item.title, item.summary)
                async with store.serialized() as unit:
                    keys = story_keys(sig, item.link)
                    candidates += len(await unit.story_candidates(keys, now - DEFAULT_WINDOW))
                    t = time.perf_counter()
                    story = await book.assign(item, now, unit)  # signature, lookup, decision
                    t_assign += time.perf_counter() - t
                    t = time.perf_counter()
                    await unit.record_item(item, [], now, story=story)
                    t_record += time.perf_counter() - t
                own = story.story_id == item.fingerprint
                joined += not own
                agree += (None if own else story.story_id) == exhaustive(sig, filled, now)
                filled.items.append(item)
                filled.signatures.append(sig)
                filled.stories.append(story.story_id)
                filled.at.append(now)
            total = t_assign + t_record
            print(
                f"new items: {items / total:,.0f}/s (signature, lookup and decision "
                f"{t_assign / items * 1e6:.0f} µs, record {t_record / items * 1e6:.0f} µs)"
            )
            print(
                f"{joined} of {items} joined a story; {candidates / items:.1f} candidates read a "
                f"lookup; the same story as an exhaustive comparison for {agree / items:.2%}"
            )
        finally:
            await store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--stories", type=int, default=10000)
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args(argv)
    asyncio.run(run(args.stories, args.items))


if __name__ == "__main__":
    main()
