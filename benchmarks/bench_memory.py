"""Memory of ``newsmon run`` on a big store: 10,000 feeds, 1,000,000 seen items,
1,000,000 story items in the story window.

The store (SQLite, the embedded default) is filled straight through SQL with
rows shaped as the service writes them: the feeds' HTTP state (each feed polled
before, its ETag kept), and the seen items, 100 a feed, each with its text
(title, summary) and, for the newest ``--stories`` of them (all, by default,
spread over the last 20 hours), its story: its MinHash signature and, when the
store has a story index, its rows there (some 65 an item). Texts are drawn
from the words of the labelled news in tests/data/eval/ (as often as they occur
there); signatures are the MinHash of those words (each word's own values, as
``signature`` makes them) and of an item's word pairs (random values, one pair
seldom being in two items); one item in five is a copy of a recent one (its
summary, most of its signature, its story).

Then ``newsmon run`` as a subprocess on that data dir, its config naming the
feeds of a loopback aiohttp server in its own process, one item each, every
feed polled every 30 s. The first round is all 304s (nothing changed since the
store's last poll); then, wave after wave, feeds get a new item (a 200), each a
story of real news text that a rule catches, so it goes through the story
index, the outbox and a loopback webhook. Its RSS (the service process; with
its parser processes, as PSS so shared pages count once) is sampled
throughout.

Printed: the fill, the RSS at the first request, after the first round, at the
end and at its peak, and the growth per new item (least squares over the
samples once the first wave is in), against the issue's target: under 300 MB.

    .venv/bin/python benchmarks/bench_memory.py [--feeds 10000] [--seen 1000000]
        [--stories 1000000] [--new 3000] [--keep]
    .venv/bin/python benchmarks/bench_memory.py --quick   # 1,000 feeds, 50,000 items

The fill takes some minutes at full size (the story index is 65 million rows)
and the store about 3 GB of disk, in the system's temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import (
    EVAL_FILES,
    ROOT,
    FeedEntry,
    FeedProcess,
    Route,
    Target,
    Workers,
    Workspace,
    feed_name,
    item_link,
    quiet_texts,
    stories,
)
from monitor.core.items import fingerprint
from monitor.core.stories import StorySignature, shingles, signature, story_keys
from monitor.core.text import words
from monitor.store import open_store
from tests.feedserver import rss

TARGET_MB = 300
INTERVAL = "30s"
WINDOW = timedelta(hours=20)  # the story items' span, inside the 24 h story window
RULE = "rules:\n  - name: bench-memory\n    match: 'content:newsmonbench'\n"
STAMP = "Mon, 06 Jan 2025 10:15:00 GMT"
SAMPLE = 0.5  # seconds between RSS samples
MAX_HASH = 0xFFFFFFFF


# -- what the store is filled with ------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Words of real news that count as shingles, how often each occurs, and
    each one's MinHash values (the last row: no word, all maxima)."""

    words: list[str]
    weights: npt.NDArray[np.float64]
    values: npt.NDArray[np.uint32]


def vocabulary(size: int = 8000) -> Vocabulary:
    counts: Counter[str] = Counter()
    for name in EVAL_FILES:
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                counts.update(words(f"{row['title']} {row.get('summary', '')}"))
    kept = [w for w, _ in counts.most_common() if w.isascii() and shingles(w, "") == {w}]
    kept = kept[:size]
    weights = np.array([counts[w] for w in kept], dtype=np.float64)
    values = np.stack([signature(w, "").hashvalues for w in kept] + [np.full(128, MAX_HASH)])
    return Vocabulary(kept, weights / weights.sum(), values.astype(np.uint32))


@dataclass
class Batch:
    """Items ``start`` to ``start + len(titles)`` of the fill."""

    start: int
    titles: list[str]
    summaries: list[str]
    signatures: npt.NDArray[np.uint32]  # (n, 128)
    sizes: npt.NDArray[np.int64]
    copy_of: npt.NDArray[np.int64]  # the item each copies, or -1


def batches(vocab: Vocabulary, count: int, size: int, seed: int = 7) -> Iterator[Batch]:
    """``count`` items' texts and signatures, ``size`` at a time."""
    rng = np.random.default_rng(seed)
    blank = len(vocab.words)  # the all-maxima row
    last: Batch | None = None
    for start in range(0, count, size):
        n = min(size, count - start)
        title_len = rng.integers(7, 13, n)
        summary_len = rng.integers(25, 46, n)
        title_ids = rng.choice(blank, (n, 12), p=vocab.weights)
        summary_ids = rng.choice(blank, (n, 45), p=vocab.weights)
        title_ids[np.arange(12) >= title_len[:, None]] = blank
        summary_ids[np.arange(45) >= summary_len[:, None]] = blank
        ids = np.concatenate([title_ids, summary_ids], axis=1)
        sigs = vocab.values[ids].min(axis=1)
        # word pairs: one set of random values each, so their minimum, drawn directly
        pairs = (title_len - 1 + summary_len - 1)[:, None]
        low = 1.0 - rng.random((n, 128)) ** (1.0 / pairs)
        sigs = np.minimum(sigs, (low * MAX_HASH).astype(np.uint32))
        sorted_ids = np.sort(ids, axis=1)
        distinct = (np.diff(sorted_ids, axis=1) != 0).sum(axis=1) + 1
        sizes = distinct - (sorted_ids[:, -1] == blank) + pairs[:, 0]
        words_of = np.array([*vocab.words, ""], dtype=object)
        titles = [" ".join(words_of[row[:k]]) for row, k in zip(title_ids, title_len, strict=True)]
        summaries = [
            " ".join(words_of[row[:k]]) for row, k in zip(summary_ids, summary_len, strict=True)
        ]
        # one in five a copy of an item of the last thousand: its summary, most of
        # its signature (and so, at a similarity near 0.7, its story)
        copy_of = np.full(n, -1, dtype=np.int64)
        for k in np.flatnonzero(rng.random(n) < 0.2).tolist():
            source = start + k - int(rng.integers(1, 1000))
            if source >= start:
                src_sig, src_summary = sigs[source - start], summaries[source - start]
            elif last is not None and source >= 0:
                src_sig = last.signatures[source - last.start]
                src_summary = last.summaries[source - last.start]
            else:
                continue
            kept = rng.random(128) < 0.7
            sigs[k] = np.where(kept, src_sig, sigs[k])
            summaries[k] = src_summary
            copy_of[k] = source
        last = Batch(start, titles, summaries, sigs, sizes, copy_of)
        yield last


def _at(moment: datetime) -> str:
    """A time as the store keeps it on SQLite: naive UTC text of fixed width."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class Fill:
    seconds: float = 0.0
    feeds: int = 0
    seen: int = 0
    stories: int = 0
    band_rows: int = 0
    file_bytes: int = 0
    served: dict[int, tuple[str, str, str]] = field(
        default_factory=dict
    )  # feed: link, title, summary


def feed_path(n: int) -> str:
    return f"/feeds/{n}.rss"


def fill_store(db: Path, base_url: str, args: argparse.Namespace, now: datetime) -> Fill:
    """The store at ``db``: created by newsmon (its current schema), then filled."""
    start = time.monotonic()

    async def create() -> None:
        store = await open_store(f"sqlite:///{db}")
        await store.close()

    asyncio.run(create())
    out = Fill(feeds=args.feeds, seen=args.seen, stories=args.stories)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")  # 256 MB, for the index builds
    tables = {row[0] for row in conn.execute("select name from sqlite_master where type='table'")}
    banded = "story_bands" in tables  # False on a newsmon from before the story index
    if banded:
        from monitor.store.schema import story_item_key
    feed_url = [f"{base_url}{feed_path(n)}" for n in range(args.feeds)]
    conn.executemany(
        "insert into feeds (url, etag, last_modified, next_poll_at, last_polled_at, failures,"
        " last_status, health) values (?, ?, ?, ?, ?, 0, 304, 'ok')",
        [
            (url, f'"bench-{n}-0"', STAMP, _at(now), _at(now - timedelta(seconds=30)))
            for n, url in enumerate(feed_url)
        ],
    )
    vocab = vocabulary()
    old = args.seen - args.stories  # seen items from before the story window
    bands = np.zeros((args.stories, 66), dtype=np.int64)  # count, then the keys
    item_keys = np.zeros(args.stories, dtype=np.int64)
    story_of: dict[int, str] = {}
    for batch in batches(vocab, args.seen, 10_000):
        seen_rows, text_rows, story_rows = [], [], []
        for k, (title, summary) in enumerate(zip(batch.titles, batch.summaries, strict=True)):
            g = batch.start + k
            n, i = g % args.feeds, g // args.feeds
            link = item_link(n, i)
            fp = fingerprint(None, link, title, None)
            if g < old:  # 20 hours to 29 days ago
                seen = now - WINDOW - (timedelta(days=29) - WINDOW) * (1 - g / max(old, 1))
            else:
                seen = now - WINDOW * (1 - (g - old) / args.stories) - timedelta(minutes=1)
            at = _at(seen)
            seen_rows.append((fp, feed_url[n], title, link, at, at))
            text_rows.append((fp, feed_url[n], feed_name(n), title, summary, "", link, None, at))
            out.served[n] = (link, title, summary)
            if g < old:
                continue
            source = int(batch.copy_of[k])
            story = story_of.get(source, fp) if source >= old else fp
            story_of[g] = story
            sig = StorySignature._of(batch.signatures[k].copy(), int(batch.sizes[k]))
            key = None
            if banded:
                keys = sorted(set(story_keys(sig, link).all))
                key = story_item_key(fp, seen)
                s = g - old
                bands[s, 0] = len(keys)
                bands[s, 1 : 1 + len(keys)] = keys
                item_keys[s] = key
            story_rows.append((fp, story, sig.to_bytes(), link, feed_name(n), title, at, key))
        conn.executemany(
            "insert into seen_items (fingerprint, feed, title, link, seen_at, last_seen_at)"
            " values (?, ?, ?, ?, ?, ?)",
            seen_rows,
        )
        conn.executemany(
            "insert into item_texts (fingerprint, feed, feed_title, title, summary, content,"
            " link, published, seen_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            text_rows,
        )
        if banded:
            conn.executemany(
                "insert into story_items (fingerprint, story, signature, link, feed_title,"
                " title, seen_at, item_key) values (?, ?, ?, ?, ?, ?, ?, ?)",
                story_rows,
            )
        else:
            conn.executemany(
                "insert into story_items (fingerprint, story, signature, link, feed_title,"
                " title, seen_at) values (?, ?, ?, ?, ?, ?, ?)",
                [row[:-1] for row in story_rows],
            )
        conn.commit()
        done = batch.start + len(batch.titles)
        print(f"  {done:,} of {args.seen:,} items", end="\r", flush=True)
    print()
    if banded:
        out.band_rows = _fill_bands(conn, bands, item_keys)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    out.seconds = time.monotonic() - start
    out.file_bytes = db.stat().st_size
    return out


def _fill_bands(
    conn: sqlite3.Connection, bands: npt.NDArray[np.int64], item_keys: npt.NDArray[np.int64]
) -> int:
    """The story index's rows, inserted in key order (a fraction of the key range
    at a time), as a B-tree is built fastest."""
    rows = 0
    counts = bands[:, 0]
    filled = np.arange(65)[None, :] < counts[:, None]
    keys = bands[:, 1:][filled]
    owners = np.repeat(item_keys, counts)
    edges = np.linspace(-(2**31), 2**31, 17).astype(np.int64)
    for low, high in itertools.pairwise(edges):
        part = (keys >= low) & (keys < high)
        band, owner = keys[part], owners[part]
        order = np.lexsort((owner, band))
        pairs = np.stack([band[order], owner[order]], axis=1).tolist()
        conn.executemany("insert or ignore into story_bands values (?, ?)", map(tuple, pairs))
        conn.commit()
        rows += len(pairs)
        print(f"  {rows:,} rows of the story index", end="\r", flush=True)
    print()
    return rows


# -- the run ------------------------------------------------------------------------


@dataclass
class Sample:
    at: float
    new: int  # new items recorded so far
    own: int  # RSS of the service process
    tree: int  # PSS of it and its parser processes


def sample(pid: int, at: float, new: int) -> Sample | None:
    try:
        process = psutil.Process(pid)
        own = process.memory_info().rss
        tree = process.memory_full_info().pss
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                tree += child.memory_full_info().pss
    except psutil.Error:
        return None
    return Sample(at, new, own, tree)


def breakdown(pid: int) -> dict[str, int]:
    """A process's RSS by what is mapped: its heaps and anonymous memory (Python's
    objects, SQLite's page caches), shared libraries, SQLite's shared memory."""
    found: Counter[str] = Counter()
    with contextlib.suppress(psutil.Error):
        for region in psutil.Process(pid).memory_maps(grouped=True):
            path = region.path
            if path.endswith("-shm"):
                found["SQLite shared memory"] += region.rss
            elif ".so" in Path(path).name:
                found["libraries"] += region.rss
            elif not path or path.startswith("["):
                found["heap and anonymous"] += region.rss
            else:
                found["other files"] += region.rss
    return dict(found.most_common())


def recorded_since(db: Path, since: datetime) -> int:
    """Story items recorded from ``since`` on: the new items matched."""
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        found = conn.execute("select count(*) from story_items where seen_at >= ?", (_at(since),))
        return int(found.fetchone()[0])


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    begin: float = 0.0  # monotonic: the service started
    first_request: float | None = None
    first_round: float | None = None  # every feed polled once
    waves: list[float] = field(default_factory=list)  # when each wave was published
    new: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    breakdown: dict[str, int] = field(default_factory=dict)  # the service's RSS by mapping


def texts(count: int) -> Iterator[tuple[str, str]]:
    pool = stories(EVAL_FILES)
    return quiet_texts(pool.quiet, count)


def run_service(
    space: Workspace, feeds: FeedProcess, args: argparse.Namespace, started: datetime
) -> Run:
    run = Run()
    workers = Workers(space)
    new_texts = texts(args.new)
    wave_size = max(1, min(args.feeds, args.new // args.waves))
    published = 0
    try:
        feeds.reset()
        workers.start(1)
        pid = workers.pids()[0]
        run.begin = begin = time.monotonic()
        deadline = begin + args.timeout
        next_check = 0.0
        while True:
            now = time.monotonic()
            workers.check_alive()
            if now > deadline:
                raise RuntimeError(
                    f"timed out after {args.timeout:.0f}s: {run.new} of {args.new} new items"
                    f"\n{workers.tails()}"
                )
            if now >= next_check:
                next_check = now + 2.0
                run.new = recorded_since(space.sqlite_file, started)
                stats = feeds.stats()
                run.statuses = stats.statuses
                if run.first_request is None and stats.requests:
                    run.first_request = now
                if run.first_round is None and stats.paths >= args.feeds:
                    run.first_round = now
                # the next wave once the last one is in
                if run.first_round is not None and run.new >= published:
                    if published >= args.new:
                        break
                    n = min(wave_size, args.new - published)
                    wave = len(run.waves) + 1
                    for k in range(n):
                        feed = (published + k) % args.feeds
                        title, summary = next(new_texts)
                        item = {
                            "title": title,
                            "link": item_link(feed, 10_000 + wave),
                            "description": summary,
                            "content": "newsmonbench",
                        }
                        feeds.set(
                            Route(
                                feed_path(feed),
                                document=rss([item], title=feed_name(feed)),
                                etag=f'"bench-{feed}-{wave}"',
                                last_modified=STAMP,
                            )
                        )
                    published += n
                    run.waves.append(time.monotonic())
                    print(f"  wave {wave}: {n} feeds with a new item", flush=True)
            found = sample(pid, now - begin, run.new)
            if found is not None:
                run.samples.append(found)
                print(
                    f"  {now - begin:6.0f}s  {run.new:>5} new  "
                    f"RSS {found.own / 1e6:6.1f} MB  tree PSS {found.tree / 1e6:6.1f} MB",
                    end="\r",
                    flush=True,
                )
            time.sleep(SAMPLE)
        print()
        run.breakdown = breakdown(pid)
        codes = workers.stop()
        if codes != [0]:
            print(f"  the service exited with {codes}")
    finally:
        workers.kill()
    return run


def slope(samples: Sequence[Sample], value: str) -> float | None:
    """Bytes per new item, least squares."""
    xs = [s.new for s in samples]
    if len(set(xs)) < 2:
        return None
    ys = [getattr(s, value) for s in samples]
    return float(np.polyfit(xs, ys, 1)[0])


def report(fill: Fill, run: Run, args: argparse.Namespace) -> list[Target]:
    mb = 1e6
    print(
        f"fill: {fill.feeds:,} feeds, {fill.seen:,} seen items, {fill.stories:,} story items "
        f"({fill.band_rows:,} rows of the story index) in {fill.seconds:.0f}s; "
        f"store {fill.file_bytes / 1e9:.2f} GB"
    )
    if not run.samples:
        print("no samples")
        return []

    def at(moment: float) -> Sample:
        return min(run.samples, key=lambda s: abs(s.at - (moment - run.begin)))

    first = run.samples[0]
    after_round = at(run.first_round) if run.first_round else first
    end = run.samples[-1]
    peak_own = max(s.own for s in run.samples)
    peak_tree = max(s.tree for s in run.samples)
    print(f"answers: {dict(sorted(run.statuses.items()))}")
    print("                              new items   service RSS   with parsers (PSS)")
    moments = [("at start", first), ("after the first round", after_round)]
    moments += [(f"wave {k} published", at(when)) for k, when in enumerate(run.waves, 1)]
    moments.append(("at the end", end))
    for name, s in moments:
        print(f"{name:<30} {s.new:>9,} {s.own / mb:10.1f} MB {s.tree / mb:12.1f} MB")
    print(f"{'peak':<30} {'':>9} {peak_own / mb:10.1f} MB {peak_tree / mb:12.1f} MB")
    # once the first wave is in: what is left is what grows with the items
    if run.waves:
        wave_size = max(1, min(args.feeds, args.new // args.waves))
        later = [s for s in run.samples if s.new >= wave_size]
    else:
        later = []
    per_own = slope(later, "own")
    per_tree = slope(later, "tree")
    if per_own is not None and per_tree is not None:
        print(
            f"growth per new item, least squares ({later[0].new:,} to {later[-1].new:,} new "
            f"items): {per_own / 1e3:.2f} KB (service), {per_tree / 1e3:.2f} KB (with parsers)"
        )
        half = [s for s in later if s.new >= (later[0].new + later[-1].new) / 2]
        last_own, last_tree = slope(half, "own"), slope(half, "tree")
        if last_own is not None and last_tree is not None:
            print(
                f"  over the second half ({half[0].new:,} to {half[-1].new:,}): "
                f"{last_own / 1e3:.2f} KB (service), {last_tree / 1e3:.2f} KB (with parsers)"
            )
    if run.breakdown:
        parts = ", ".join(f"{name} {size / mb:.0f} MB" for name, size in run.breakdown.items())
        print(f"the service's RSS at the end: {parts}")
    met = peak_tree < TARGET_MB * mb
    scale = f"{fill.feeds:,} feeds, {fill.seen:,} seen, {fill.stories:,} stories"
    targets = [
        Target(
            f"memory with {scale}",
            met if not args.quick else None,
            f"peak {peak_tree / mb:.0f} MB (service {peak_own / mb:.0f} MB) vs < {TARGET_MB} MB",
        )
    ]
    if per_own is not None:
        targets.append(
            Target("memory growth per new item", None, f"{per_own / 1e3:.2f} KB (service RSS)")
        )
    return targets


def main(argv: list[str] | None = None) -> list[Target]:
    """Run the benchmark; returns the targets as measured, for a summary."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--seen", type=int, default=1_000_000, help="seen items in the store")
    parser.add_argument(
        "--stories", type=int, default=None, help="of them, story items (default: all)"
    )
    parser.add_argument("--new", type=int, default=3000, help="new items to match")
    parser.add_argument("--waves", type=int, default=6, help="the new items come in this many")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds for the run")
    parser.add_argument("--quick", action="store_true", help="1,000 feeds, 50,000 items")
    parser.add_argument("--keep", action="store_true", help="keep the workspace (and log)")
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds, args.seen, args.new = 1000, 50_000, 300
    if args.stories is None:
        args.stories = args.seen
    if not 0 < args.stories <= args.seen or args.feeds < 1 or args.new < 1 or args.waves < 1:
        parser.error("need --feeds, --new, --waves >= 1 and 0 < --stories <= --seen")

    print(f"serving {args.feeds:,} feeds ...", flush=True)
    feeds = FeedProcess([])
    root = Path(tempfile.mkdtemp(prefix="newsmon-memory-"))
    entries = [
        FeedEntry(f"{feeds.base_url}{feed_path(n)}", feed_name(n), INTERVAL)
        for n in range(args.feeds)
    ]
    settings = ["fetch:\n  per_host: 32\n  concurrency: 32"]
    space = Workspace(root, entries, settings)
    (root / "rules" / "bench-memory.yaml").write_text(RULE)
    try:
        now = datetime.now(UTC)
        print(f"filling the store in {space.sqlite_file} ...", flush=True)
        fill = fill_store(space.sqlite_file, feeds.base_url, args, now)
        for n, (link, title, summary) in fill.served.items():
            document = rss([{"title": title, "link": link, "description": summary}])
            feeds.set(
                Route(feed_path(n), document=document, etag=f'"bench-{n}-0"', last_modified=STAMP)
            )
        print("newsmon run ...", flush=True)
        run = run_service(space, feeds, args, datetime.now(UTC))
    except RuntimeError as exc:
        raise SystemExit(f"bench_memory: {exc}") from None
    finally:
        feeds.close()
        space.close(args.keep)
    return report(fill, run, args)


if __name__ == "__main__":
    main()
