"""Ingest, cold and warm: ``newsmon run`` beside the `reader` library on the same feeds.

A loopback aiohttp server in its own process serves F feeds of K items
(200 x 50 = 10,000 items by default), each with an ETag and a Last-Modified,
so a conditional GET of an unchanged feed gets a 304. Every feed's first item
is a story the shipped rules catch (labelled stories from tests/data/eval/,
none a copy of another, so each makes its own alert); every other item is
real news text no rule matches, each with its own guid, link and headline
(headlines spliced from two quiet ones, summaries of two sentences of others).

newsmon: ``newsmon run`` on the embedded default (in-memory lanes, SQLite),
from a fresh data dir, its only channel a loopback webhook sink.

  cold   time until every expected alert has arrived at the webhook and every
         item is recorded as seen in the store, counted from the process start
         and, to set start-up apart, from the first feed request
  warm   the service stopped, every feed made due (as after a downtime longer
         than its interval: the store's next poll times cleared), and started
         again: every feed answers 304; feeds/s over the round, from its first
         request to its last answer, as the server saw them

reader: ``make_reader(db)``, ``add_feed`` for each feed, then
``update_feeds(workers=8)`` (fetch, parse, store) in a process of its own,
timed from the process start and from the call; the second call is its warm
round (reader sends the validators too).

Printed: items/s and feeds/s of each, the ratios newsmon/reader (measured in
the same run, so more robust than either number on a shared machine), peak
RSS of the service (its process and its parser processes), against the
issue's targets: cold at least 2,000 items/s and 2x reader, warm at least
500 feeds/s. For the large warm case, 10,000 feeds of one item:

    .venv/bin/python benchmarks/bench_ingest.py [--feeds 200] [--items 50]
        [--rounds 1] [--skip-reader] [--reader-workers 8] [--keep]
    .venv/bin/python benchmarks/bench_ingest.py --feeds 10000 --items 1
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import (
    EVAL_FILES,
    POLL,
    ROOT,
    FeedEntry,
    FeedProcess,
    Target,
    Workers,
    Workspace,
    alerted,
    distinct_stories,
    feed_name,
    item_link,
    process_tree_rss,
    quiet_texts,
    rss,
    sqlite_count,
    stories,
)

TARGET_ITEMS_PER_S = 2000.0
TARGET_VS_READER = 2.0
TARGET_WARM_FEEDS_PER_S = 500.0
SAMPLE_EVERY = 5  # RSS every fifth look (0.1 s), for newsmon and reader alike
MB = 1024 * 1024


# -- the feeds -------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    documents: dict[str, str]  # path -> RSS
    hits: frozenset[str]  # links of the items that must alert


def build(feeds: int, items: int) -> Corpus:
    """The feeds: the first item of each a distinct matching story (of every
    feed while there are enough such stories, else of feeds spread evenly)."""
    pool = stories(EVAL_FILES)
    matching = distinct_stories(pool.matching)
    hits = min(feeds, len(matching))
    quiet = quiet_texts(pool.quiet, feeds * items - hits)
    # recent, a second apart: older items would be old news (alerts.max_item_age)
    start = datetime.now(UTC).replace(microsecond=0)
    documents: dict[str, str] = {}
    links: set[str] = set()
    for n in range(feeds):
        hit = (n + 1) * hits // feeds > n * hits // feeds
        entries = []
        for i in range(items):
            if i == 0 and hit:
                story = matching[len(links)]
                title, summary = story.title, story.summary
                links.add(item_link(n, i))
            else:
                title, summary = next(quiet)
            entries.append(
                {
                    "title": title,
                    "link": item_link(n, i),
                    "guid": f"urn:newsmon-bench:{n}:{i}",
                    "description": f"<p>{summary}</p>",
                    "pubDate": start - timedelta(seconds=n * items + i),
                }
            )
        documents[f"/feed/{n}.xml"] = rss(entries, title=feed_name(n))
    return Corpus(documents, frozenset(links))


# -- newsmon ---------------------------------------------------------------------


@dataclass
class Phase:
    """One round of one system, times in seconds."""

    system: str
    phase: str  # "cold" or "warm"
    feeds: int
    items: int
    from_start: float  # from the process start until done
    from_first: float  # from the round's first feed request (or the call) until done
    statuses: dict[int, int] = field(default_factory=dict)  # the server's answers
    peak_rss: int | None = None  # bytes: the process
    peak_rss_tree: int | None = None  # the process and its children (parsers)
    note: str = ""

    @property
    def items_per_s(self) -> float:
        return self.items / self.from_start

    @property
    def work_items_per_s(self) -> float:
        return self.items / self.from_first

    @property
    def feeds_per_s(self) -> float:
        return self.feeds / self.from_start

    @property
    def work_feeds_per_s(self) -> float:
        return self.feeds / self.from_first


class Peak:
    """The largest RSS seen of a process and of its process tree."""

    def __init__(self) -> None:
        self.own = 0
        self.tree = 0

    def sample(self, pid: int) -> None:
        own, tree = process_tree_rss(pid)
        self.own = max(self.own, own)
        self.tree = max(self.tree, tree)


def make_due(space: Workspace) -> None:
    """Every feed due now, as after a downtime longer than its interval: the
    service polls all of them at once, with the validators it kept."""
    with contextlib.closing(sqlite3.connect(space.sqlite_file, timeout=30)) as db:
        db.execute("update feeds set next_poll_at = null")
        db.commit()


def run_newsmon(corpus: Corpus, feeds: FeedProcess, args: Any) -> list[Phase]:
    """Cold, then warm, in one workspace."""
    root = Path(tempfile.mkdtemp(prefix="newsmon-ingest-"))
    entries = [
        FeedEntry(f"{feeds.base_url}{path}", feed_name(n), "10m")
        for n, path in enumerate(corpus.documents)
    ]
    # every feed is on one loopback host: let the fetcher use its whole
    # concurrency on it, as it would across many real hosts
    settings = [f"fetch:\n  per_host: {args.per_host}\n  concurrency: {args.concurrency}"]
    space = Workspace(root, entries, settings)
    workers = Workers(space)
    items = args.feeds * args.items
    try:
        feeds.reset()
        peak = Peak()
        start = time.monotonic()
        workers.start(1)
        deadline = start + args.timeout
        alerts_at = seen_at = None
        # Looking costs CPU the service would use (two cores): RSS as often as
        # reader's, the alerts only once there are enough of them.
        for looks in itertools.count():
            if alerts_at is not None and seen_at is not None:
                break
            now = time.monotonic()
            workers.check_alive()
            if looks % SAMPLE_EVERY == 0:
                peak.sample(workers.pids()[0])
            if now > deadline:
                raise RuntimeError(
                    f"newsmon cold: timed out after {args.timeout:.0f}s with "
                    f"{len(corpus.hits & set(alerted(space.sink)))}/{len(corpus.hits)} alerts, "
                    f"{sqlite_count(space.sqlite_file, 'seen_items')}/{items} items seen\n"
                    f"{workers.tails()}"
                )
            enough = len(space.sink.bodies) >= len(corpus.hits)
            if alerts_at is None and enough and corpus.hits <= set(alerted(space.sink)):
                alerts_at = now
            if seen_at is None and sqlite_count(space.sqlite_file, "seen_items") >= items:
                seen_at = now
            time.sleep(POLL)
        server = feeds.stats()
        assert server.first is not None and alerts_at is not None and seen_at is not None
        done = max(alerts_at, seen_at)
        extra = sum(alerted(space.sink).values()) - len(corpus.hits)
        cold = Phase(
            "newsmon",
            "cold",
            args.feeds,
            items,
            from_start=done - start,
            from_first=done - server.first,
            statuses=server.statuses,
            peak_rss=peak.own,
            peak_rss_tree=peak.tree,
            note=(
                f"alerts {alerts_at - start:.2f}s, seen {seen_at - start:.2f}s"
                + (f", {extra} alerts more than expected" if extra else "")
            ),
        )
        codes = workers.stop()
        if codes != [0]:
            cold.note += f", exit {codes}"
        make_due(space)
        feeds.reset()
        start = time.monotonic()
        workers = Workers(space)
        workers.start(1)
        deadline = start + args.timeout
        for looks in itertools.count():
            if feeds.requests() >= args.feeds:
                break
            workers.check_alive()
            if looks % SAMPLE_EVERY == 0:
                peak.sample(workers.pids()[0])
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"newsmon warm: timed out after {args.timeout:.0f}s with "
                    f"{feeds.requests()}/{args.feeds} feeds polled\n{workers.tails()}"
                )
            time.sleep(POLL)
        while sum((server := feeds.stats()).statuses.values()) < args.feeds:
            time.sleep(POLL)  # answers still on their way
        assert server.first is not None and server.last is not None
        warm = Phase(
            "newsmon",
            "warm",
            args.feeds,
            0,
            from_start=server.last - start,
            from_first=server.last - server.first,
            statuses=server.statuses,
            peak_rss=peak.own,
            peak_rss_tree=peak.tree,
        )
        codes = workers.stop()
        if codes != [0]:
            warm.note += f"exit {codes}"
        return [cold, warm]
    finally:
        workers.kill()
        space.close(args.keep)


# -- reader ----------------------------------------------------------------------


def run_reader(corpus: Corpus, feeds: FeedProcess, args: Any) -> list[Phase]:
    """reader's two rounds (cold, warm) in a process of its own."""
    with tempfile.TemporaryDirectory(prefix="reader-ingest-") as tmp:
        urls = Path(tmp) / "urls.txt"
        urls.write_text("".join(f"{feeds.base_url}{path}\n" for path in corpus.documents))
        peak = Peak()
        start = time.monotonic()
        child = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "_reader.py"),
                str(Path(tmp) / "reader.sqlite"),
                str(urls),
                str(args.reader_workers),
                "2",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            json.loads(child.stdout.readline())  # ready: the feeds are added
            phases = []
            for phase in ("cold", "warm"):
                feeds.reset()
                child.stdin.write("go\n")
                child.stdin.flush()
                line = _read_sampling(child, peak)
                if not line:
                    raise RuntimeError(f"reader exited with {child.wait()}")
                result = json.loads(line)
                cold = phase == "cold"
                stored = result["entries"]
                phases.append(
                    Phase(
                        "reader",
                        phase,
                        args.feeds,
                        stored if cold else 0,
                        # the warm round starts when it is told to, not at its start
                        from_start=result["end"] - (start if cold else result["start"]),
                        from_first=result["end"] - result["start"],
                        statuses=feeds.stats().statuses,
                        peak_rss=peak.own,
                        peak_rss_tree=peak.tree,
                        note="" if stored == args.feeds * args.items else f"{stored} stored",
                    )
                )
            child.stdin.close()
            child.wait(60)
            return phases
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()


def _read_sampling(child: subprocess.Popen[str], peak: Peak) -> str:
    """The child's next line, sampling its RSS while it works."""
    assert child.stdout is not None
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        while not selector.select(POLL * SAMPLE_EVERY):
            peak.sample(child.pid)
    return child.stdout.readline()


# -- report ----------------------------------------------------------------------


def _mb(value: int | None) -> str:
    return "-" if not value else f"{value / MB:.0f}"


def _statuses(statuses: dict[int, int]) -> str:
    return " ".join(f"{n}x{s}" for s, n in sorted(statuses.items()))


def report(phases: list[Phase], args: Any) -> list[Target]:
    """Print the table and the ratios; return the targets as measured."""
    print(
        f"\n{args.feeds} feeds x {args.items} items = {args.feeds * args.items} items, "
        f"{psutil.cpu_count()} CPUs\n"
        "start = from the process start; work = from the round's first request (newsmon)\n"
        "or the update_feeds call (reader); RSS = peak, the process (+ its children)\n"
    )
    header = (
        f"{'system':<8} {'phase':<5} {'start s':>8} {'work s':>7} {'items/s':>8} "
        f"{'work it/s':>9} {'feeds/s':>8} {'work fd/s':>9} {'RSS MB':>10}  answers"
    )
    print(header)
    print("-" * len(header))
    for p in phases:
        rss_ = f"{_mb(p.peak_rss)} ({_mb(p.peak_rss_tree)})"
        items_rate = f"{p.items_per_s:>8.0f} {p.work_items_per_s:>9.0f}" if p.items else " " * 18
        print(
            f"{p.system:<8} {p.phase:<5} {p.from_start:>8.2f} {p.from_first:>7.2f} {items_rate} "
            f"{p.feeds_per_s:>8.0f} {p.work_feeds_per_s:>9.0f} {rss_:>10}  "
            f"{_statuses(p.statuses)}{'  ' + p.note if p.note else ''}"
        )

    def median(system: str, phase: str, rate: str) -> float | None:
        values = [getattr(p, rate) for p in phases if (p.system, p.phase) == (system, phase)]
        return statistics.median(values) if values else None

    lines: list[Target] = []
    # the cold targets are the for its scenario; other sizes just report
    scenario = (args.feeds, args.items) == (200, 50)
    shape = f"{args.feeds} feeds x {args.items}"
    cold = median("newsmon", "cold", "items_per_s")
    cold_work = median("newsmon", "cold", "work_items_per_s")
    warm = median("newsmon", "warm", "work_feeds_per_s")
    print()
    if cold is not None and cold_work is not None:
        lines.append(
            Target(
                f"cold ingest >= {TARGET_ITEMS_PER_S:,.0f} items/s ({shape})",
                cold >= TARGET_ITEMS_PER_S if scenario else None,
                f"{cold:,.0f} items/s from start ({cold_work:,.0f} from the first request)",
            )
        )
    reader_cold = median("reader", "cold", "items_per_s")
    reader_work = median("reader", "cold", "work_items_per_s")
    if cold is not None and cold_work is not None and reader_cold and reader_work:
        ratio, ratio_work = cold / reader_cold, cold_work / reader_work
        print(
            f"cold newsmon/reader: {ratio:.2f}x from the process start, "
            f"{ratio_work:.2f}x from the first request / the call"
        )
        lines.append(
            Target(
                f"cold ingest >= {TARGET_VS_READER:.0f}x reader ({shape})",
                ratio >= TARGET_VS_READER if scenario else None,
                f"{ratio:.2f}x from start ({ratio_work:.2f}x from the first request)",
            )
        )
    reader_warm = median("reader", "warm", "work_feeds_per_s")
    if warm is not None and reader_warm:
        print(f"warm newsmon/reader: {warm / reader_warm:.2f}x (feeds/s over the round)")
    if warm is not None:
        lines.append(
            Target(
                f"warm polls >= {TARGET_WARM_FEEDS_PER_S:,.0f} feeds/s ({shape})",
                warm >= TARGET_WARM_FEEDS_PER_S,
                f"{warm:,.0f} feeds/s",
            )
        )
    peaks = [p.peak_rss_tree for p in phases if p.system == "newsmon" and p.peak_rss_tree]
    if peaks:
        lines.append(
            Target(
                f"peak RSS of the service, {args.feeds} feeds",
                None,
                f"{max(peaks) / MB:.0f} MB (with its parser processes)",
            )
        )
    for line in lines:
        print(f"  {line}")
    return lines


def main(argv: list[str] | None = None) -> list[Target]:
    """Run the benchmark; returns the targets as measured, for a summary."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50, help="items per feed")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each system")
    parser.add_argument("--skip-reader", action="store_true", help="newsmon only")
    parser.add_argument("--reader-workers", type=int, default=8, help="update_feeds(workers=)")
    parser.add_argument("--per-host", type=int, default=32, help="config fetch.per_host")
    parser.add_argument("--concurrency", type=int, default=32, help="config fetch.concurrency")
    parser.add_argument("--timeout", type=float, default=600.0, help="per round, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the workspace (and log)")
    args = parser.parse_args(argv)
    for name in ("feeds", "items", "rounds", "reader_workers", "per_host", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")

    print(f"building {args.feeds} feeds x {args.items} items ...", flush=True)
    corpus = build(args.feeds, args.items)
    feeds = FeedProcess.of_documents(corpus.documents)
    phases: list[Phase] = []
    try:
        for round_no in range(1, args.rounds + 1):
            print(f"round {round_no}: newsmon ...", flush=True)
            phases += run_newsmon(corpus, feeds, args)
            if not args.skip_reader:
                print(f"round {round_no}: reader ...", flush=True)
                phases += run_reader(corpus, feeds, args)
    except RuntimeError as exc:
        raise SystemExit(f"bench_ingest: {exc}") from None
    finally:
        feeds.close()
    return report(phases, args)


if __name__ == "__main__":
    main()
