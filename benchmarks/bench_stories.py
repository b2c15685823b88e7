"""Story clustering throughput and memory, with a full index.

Fills a StoryIndex with generated stories (a Zipf-like vocabulary, a dozen
words of title and forty of summary, one in five a re-headlined copy of an
earlier story), then times new items through what the pipeline does for each:
signature, find, add (and expire). Memory per entry is measured with
tracemalloc. For comparison it indexes the same signatures in datasketch's
MinHashLSH with the band layouts a threshold this low needs, which is why
StoryIndex scans instead.

    .venv/bin/python benchmarks/bench_stories.py [--stories 10000] [--items 2000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.core.stories import (  # noqa: E402
    DEFAULT_NUM_PERM,
    DEFAULT_THRESHOLD,
    StoryIndex,
    StorySignature,
    signature,
)

SYLLABLES = ["ka", "ri", "to", "mu", "sen", "lo", "va", "de", "chi", "zu", "na", "pe", "ro"]
T0 = datetime(2024, 6, 12, tzinfo=UTC)


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


def fill(sigs: list[StorySignature], span: timedelta) -> StoryIndex:
    index = StoryIndex()
    for i, sig in enumerate(sigs):
        at = T0 + span * (i / len(sigs))
        index.add(f"s{i}", sig, f"https://example.org/news/2024/06/12/story-{i}", at)
    return index


def run(stories: int, items: int) -> list[StorySignature]:
    gen = Generator(seed=1)
    start = time.perf_counter()
    sigs = [signature(*gen.story()) for _ in range(stories)]
    made = time.perf_counter() - start
    span = timedelta(hours=23)

    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    index = fill(sigs, span)
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"index: {len(index)} entries, threshold {DEFAULT_THRESHOLD}, {DEFAULT_NUM_PERM} perms")
    print(f"signatures of the index: {stories / made:,.0f} per second")
    print(f"memory: {(after - before) / stories:,.0f} bytes per entry (index arrays, ids, links)")

    texts = [gen.story() for _ in range(items)]
    now = T0 + span
    t_sig = t_find = t_add = 0.0
    joined = 0
    start = time.perf_counter()
    for i, (title, summary) in enumerate(texts):
        now += timedelta(seconds=1)
        link = f"https://example.org/new/{i}"
        t = time.perf_counter()
        sig = signature(title, summary)
        t_sig += time.perf_counter() - t
        t = time.perf_counter()
        story = index.find(sig, link, now)
        t_find += time.perf_counter() - t
        joined += story is not None
        t = time.perf_counter()
        index.add(story or f"n{i}", sig, link, now)
        index.expire(now)
        t_add += time.perf_counter() - t
    total = time.perf_counter() - start
    print(
        f"signature + find + add: {items / total:,.0f} items/s "
        f"(signature {t_sig / items * 1e6:.0f} µs, find {t_find / items * 1e6:.0f} µs, "
        f"add+expire {t_add / items * 1e6:.0f} µs); {joined} of {items} joined a story"
    )
    return sigs


def compare_lsh(sigs: list[StorySignature], queries: int) -> None:
    """datasketch's MinHashLSH over the same signatures, for the record."""
    from datasketch import LeanMinHash, MinHashLSH

    lean = [LeanMinHash(seed=0, hashvalues=s.hashvalues, scheme="affine32") for s in sigs]
    j = DEFAULT_THRESHOLD
    for bands, rows in [(42, 3), (64, 2)]:
        recall = 1 - (1 - j**rows) ** bands
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        lsh = MinHashLSH(num_perm=DEFAULT_NUM_PERM, params=(bands, rows))
        start = time.perf_counter()
        for i, m in enumerate(lean):
            lsh.insert(i, m)
        insert = (time.perf_counter() - start) / len(lean)
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        start = time.perf_counter()
        for m in lean[:queries]:
            lsh.query(m)
        query = (time.perf_counter() - start) / queries
        print(
            f"MinHashLSH b={bands} r={rows}: finds a pair at J={j} with p={recall:.2f}; "
            f"{(after - before) / len(lean):,.0f} bytes per entry, "
            f"insert {insert * 1e6:.0f} µs, query {query * 1e6:.0f} µs"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=10000)
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    sigs = run(args.stories, args.items)
    compare_lsh(sigs, min(args.items, 1000))


if __name__ == "__main__":
    main()
