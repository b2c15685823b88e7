"""Publish-to-alert latency of a busy feed among hundreds of slow, broken and large ones.

``newsmon run`` on the embedded default (in-memory lanes, SQLite), its only
channel a loopback webhook sink, polls a loopback aiohttp server (in its own
process) that serves

  busy     one feed that gets a new item every ``--publish-every`` seconds (1 s),
           each a distinct story the shipped rules catch, polled every
           ``--busy-interval`` (1 s)
  others   ``--feeds`` (400) feeds polled every ``--others-interval`` (10 s):
           a quarter slow (the server waits 2-6 s before answering), 5 % each
           answering 500, invalid XML, or nothing before the fetch timeout,
           ``--large-share`` (2 %) of ``--large-mb`` (3 MB, 200 items of long
           content, no validators, so every poll downloads and parses it all),
           the rest ordinary feeds of 20 items that answer 304 once seen; none
           of their items matches a rule

After ``--warmup`` seconds (the first poll of every feed under way), it
publishes for ``--duration`` seconds and then waits for the last alerts. For
every published item it takes, on one clock (the server process's and this
one's monotonic clock are the same on Linux):

  published   when the server began serving the document that holds it
  fetched     when the server finished the first answer that held it
  alerted     when its alert arrived at the webhook

and prints p50/p95/p99/max of published->alerted, fetched->alerted (the
pipeline's own share: the issue's target is p95 under 1 s) and
published->fetched (waiting for the poll), alerts that never came, and the
busy feed's polls per minute against what its interval asks for (the issue's
"keeps its cadence"), with the largest gap between two of its polls.

    .venv/bin/python benchmarks/bench_latency.py [--feeds 400] [--duration 60]
        [--busy-interval 1s] [--others-interval 10s] [--keep]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import (
    BROKEN_XML,
    EVAL_FILES,
    ITEM_LINK,
    POLL,
    ROOT,
    FeedEntry,
    FeedProcess,
    Route,
    Target,
    Workers,
    Workspace,
    distinct_stories,
    feed_name,
    item_link,
    process_tree_rss,
    quiet_texts,
    rss,
    stories,
)
from monitor.core.evaluation import Labelled
from monitor.core.schedule import parse_duration
from monitor.rules.files import read_rules

BUSY = "/busy.xml"
BUSY_FEED = 0  # the busy feed's number in its items' links; the others count from 1
KEEP_ITEMS = 20  # items the busy feed carries
TARGET_FETCH_TO_ALERT_P95 = 1.0
CADENCE_SHARE = 0.8  # of the polls its interval asks for: "keeps its cadence"
MB = 1024 * 1024


# -- the feeds -------------------------------------------------------------------


def kind_of(n: int, large_share: float) -> str:
    """The kind of other feed ``n``: slow, status, broken, timeout, large or ordinary."""
    every = max(1, round(1 / large_share)) if large_share > 0 else 0
    if every and n % every == every - 1:
        return "large"
    return {0: "slow", 1: "slow", 2: "slow", 3: "slow", 4: "slow", 5: "status", 6: "broken"}.get(
        n % 20, "timeout" if n % 20 == 7 else "ordinary"
    )


def other_routes(args: Any) -> list[Route]:
    pool = stories(EVAL_FILES)
    kinds = [kind_of(n, args.large_share) for n in range(args.feeds)]
    wanted = 20 * sum(k in ("slow", "ordinary") for k in kinds) + 200
    quiet = list(quiet_texts(pool.quiet, wanted))
    now = datetime.now(UTC).replace(microsecond=0)
    routes, used = [], 0
    for n, kind in enumerate(kinds):
        path = f"/feed/{n}.xml"
        if kind == "status":
            routes.append(Route(path, kind="status", status=500, document=b"server error"))
        elif kind == "broken":
            routes.append(Route(path, document=BROKEN_XML))
        elif kind == "timeout":  # answers after the client gave up
            routes.append(Route(path, document=BROKEN_XML, delay=args.fetch_timeout + 5))
        elif kind == "large":
            routes.append(Route(path, document=_large(n + 1, quiet[-200:], args.large_mb, now)))
        else:
            entries = []
            for i, (title, summary) in enumerate(quiet[used : used + 20]):
                entries.append(_entry(n + 1, i, title, summary, now - timedelta(seconds=i)))
            used += 20
            routes.append(
                Route(
                    path,
                    document=rss(entries, title=feed_name(n + 1)),
                    etag=f'"other-{n}"',
                    delay=2 + n % 5 if kind == "slow" else 0.0,
                )
            )
    return routes


def _entry(n: int, i: int, title: str, summary: str, published: datetime) -> dict[str, Any]:
    return {
        "title": title,
        "link": item_link(n, i),
        "guid": f"urn:newsmon-bench:{n}:{i}",
        "description": f"<p>{summary}</p>",
        "pubDate": published,
    }


def _large(n: int, texts: list[tuple[str, str]], megabytes: float, now: datetime) -> str:
    """About ``megabytes`` of RSS: 200 items, each with a long article as content
    (its own summary over and over, checked to stay quiet: sentences of
    different stories side by side could together match a rule)."""
    rules = read_rules(ROOT / "rules")
    per_item = int(megabytes * MB / 200)
    entries = []
    for i in range(200):
        title, summary = texts[i % len(texts)]
        entry = _entry(n, i, title, summary, now - timedelta(seconds=i))
        content = " ".join([summary] * (per_item // (len(summary.encode()) + 8) + 1))
        fields = {"title": title, "summary": summary, "content": content, "feed": ""}
        if rules.match(fields):  # a NEAR across the seam of two copies
            content = summary
        entry["content"] = "".join(f"<p>{summary}</p>" for _ in range(content.count(summary)))
        entries.append(entry)
    return rss(entries, title=feed_name(n))


class Busy:
    """The busy feed: a new matching story at the top on each ``publish()``."""

    def __init__(self, matching: list[Labelled]) -> None:
        self.matching = matching
        self.items: list[dict[str, Any]] = []
        self.published: list[float] = []  # monotonic, by item number

    def route(self) -> Route:
        document = rss(self.items[-KEEP_ITEMS:][::-1], title="Busy feed")
        return Route(BUSY, document=document, etag=f'"busy-{len(self.items)}"')

    def publish(self, feeds: FeedProcess) -> None:
        k = len(self.items)
        if k >= len(self.matching):
            raise RuntimeError(f"only {len(self.matching)} distinct matching stories to publish")
        story = self.matching[k]
        self.items.append(_entry(BUSY_FEED, k, story.title, story.summary, datetime.now(UTC)))
        feeds.set(self.route())
        self.published.append(time.monotonic())


# -- the run ---------------------------------------------------------------------


@dataclass
class Outcome:
    published: list[float]
    fetched: list[float | None]
    alerted: list[float | None]
    busy_polls: list[tuple[int | None, float, float | None]]
    requests: int  # to every feed, during the window
    window: tuple[float, float]  # of publishing
    peak_rss: int
    exit_codes: list[int | None]


def run(args: Any) -> Outcome:
    pool = stories(EVAL_FILES)
    busy = Busy(distinct_stories(pool.matching))
    print(f"building {args.feeds} other feeds ...", flush=True)
    feeds = FeedProcess([busy.route(), *other_routes(args)])
    root = Path(tempfile.mkdtemp(prefix="newsmon-latency-"))
    entries = [FeedEntry(f"{feeds.base_url}{BUSY}", "Busy feed", args.busy_interval)]
    entries += [
        FeedEntry(f"{feeds.base_url}/feed/{n}.xml", feed_name(n + 1), args.others_interval)
        for n in range(args.feeds)
    ]
    settings = [
        f"fetch:\n  per_host: {args.per_host}\n  concurrency: {args.concurrency}\n"
        f"  timeout: {args.fetch_timeout}"
    ]
    space = Workspace(root, entries, settings)
    workers = Workers(space)
    peak = 0
    try:
        workers.start(1)
        deadline = time.monotonic() + args.timeout
        while not any(status == 200 for status, _, _ in feeds.requests_to(BUSY)):
            workers.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the busy feed was not polled\n{workers.tails()}")
            time.sleep(POLL)
        print(f"warming up for {args.warmup:g}s, then publishing ...", flush=True)
        time.sleep(args.warmup)
        before = feeds.requests()
        start = time.monotonic()
        end = start + args.duration
        tick = start
        while tick < end:
            busy.publish(feeds)
            tick += args.publish_every
            while (now := time.monotonic()) < tick:
                workers.check_alive()
                peak = max(peak, process_tree_rss(workers.pids()[0])[1])
                time.sleep(min(POLL * 5, tick - now))
        window = (start, time.monotonic())
        requests = feeds.requests() - before
        wanted = {item_link(BUSY_FEED, k) for k in range(len(busy.items))}
        deadline = time.monotonic() + args.drain
        while time.monotonic() < deadline and not wanted <= _arrivals(space).keys():
            time.sleep(POLL)
        arrivals = _arrivals(space)
        polls = feeds.requests_to(BUSY)
        codes = workers.stop()
    finally:
        workers.kill()
        feeds.close()
        space.close(args.keep)
    return Outcome(
        published=busy.published,
        fetched=[_fetched(at, polls) for at in busy.published],
        alerted=[arrivals.get(item_link(BUSY_FEED, k)) for k in range(len(busy.items))],
        busy_polls=polls,
        requests=requests,
        window=window,
        peak_rss=peak,
        exit_codes=codes,
    )


def _arrivals(space: Workspace) -> dict[str, float]:
    """When the first alert for each item link arrived."""
    found: dict[str, float] = {}
    for request in space.sink.requests:
        link = ITEM_LINK.search(str(request["json"]))
        if link and link.group() not in found:
            found[link.group()] = request["at"]
    return found


def _fetched(published: float, polls: list[tuple[int | None, float, float | None]]) -> float | None:
    """When the first answer that held an item published at ``published`` was sent."""
    for status, started, finished in polls:
        if status == 200 and started >= published and finished is not None:
            return finished
    return None


# -- report ----------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _spread(values: list[float]) -> str:
    if not values:
        return "no data"
    return "  ".join(
        f"{name} {percentile(values, q):6.3f}"
        for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    )


def report(outcome: Outcome, args: Any) -> list[Target]:
    done = [
        (p, f, a)
        for p, f, a in zip(outcome.published, outcome.fetched, outcome.alerted, strict=True)
        if a is not None
    ]
    lost = len(outcome.published) - len(done)
    to_alert = [a - p for p, _, a in done]
    fetch_to_alert = [a - f for _, f, a in done if f is not None]
    to_fetch = [f - p for p, f, _ in done if f is not None]
    first, last = outcome.window
    starts = sorted(r[1] for r in outcome.busy_polls)
    inside = [t for t in starts if first <= t <= last]
    minutes = (last - first) / 60
    per_minute = len(inside) / minutes if minutes else 0.0
    asked = 60 / parse_duration(args.busy_interval)
    # the gaps between its polls over the window, from the last poll before it
    # to the first one after it (or the window's end, if none came)
    before = [t for t in starts if t < first][-1:] or [first]
    after = [t for t in starts if t > last][:1] or [last]
    gaps = [b - a for a, b in pairwise(before + inside + after)]
    print(
        f"\nbusy feed: {len(outcome.published)} items published, one every "
        f"{args.publish_every:g}s over {last - first:.0f}s, beside {args.feeds} other feeds; "
        f"peak RSS {outcome.peak_rss / MB:.0f} MB; exit {outcome.exit_codes}\n"
        "seconds:"
    )
    print(f"  published -> alerted  {_spread(to_alert)}")
    print(f"  fetched   -> alerted  {_spread(fetch_to_alert)}")
    print(f"  published -> fetched  {_spread(to_fetch)}")
    if lost:
        print(f"  {lost} item(s) without an alert {args.drain:g}s after publishing stopped")
    print(
        f"busy feed polls: {per_minute:.1f}/min (its interval asks for {asked:.0f}/min), "
        f"largest gap {max(gaps, default=0.0):.2f}s"
    )
    all_asked = asked / 60 + args.feeds / parse_duration(args.others_interval)
    print(
        f"all feeds: {outcome.requests / (last - first):.1f} requests/s "
        f"(the intervals ask for {all_asked:.1f}/s)"
    )
    p95 = percentile(fetch_to_alert, 95) if fetch_to_alert else math.inf
    lines: list[Target] = [
        Target(
            f"fetch to alert p95 < {TARGET_FETCH_TO_ALERT_P95:g} s",
            p95 < TARGET_FETCH_TO_ALERT_P95 and not lost,
            f"p95 {p95:.3f} s, p50 publish to alert "
            f"{percentile(to_alert, 50) if to_alert else math.inf:.3f} s"
            + (f", {lost} lost" if lost else ""),
        ),
        Target(
            "the busy feed keeps its cadence",
            per_minute >= CADENCE_SHARE * asked,
            f"{per_minute:.1f} polls/min of {asked:.0f}, largest gap "
            f"{max(gaps, default=0.0):.2f} s",
        ),
    ]
    for line in lines:
        print(f"  {line}")
    return lines


def main(argv: list[str] | None = None) -> list[Target]:
    """Run the benchmark; returns the targets as measured, for a summary."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--feeds", type=int, default=400, help="other feeds beside the busy one")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of publishing")
    parser.add_argument("--publish-every", type=float, default=1.0, help="seconds")
    parser.add_argument("--busy-interval", default="1s", help="the busy feed's interval")
    parser.add_argument("--others-interval", default="10s", help="the other feeds' interval")
    parser.add_argument("--large-share", type=float, default=0.02, help="of the other feeds")
    parser.add_argument("--large-mb", type=float, default=3.0, help="size of a large feed")
    parser.add_argument("--fetch-timeout", type=float, default=10.0, help="config fetch.timeout")
    parser.add_argument("--per-host", type=int, default=32, help="config fetch.per_host")
    parser.add_argument("--concurrency", type=int, default=32, help="config fetch.concurrency")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before publishing")
    parser.add_argument("--drain", type=float, default=30.0, help="seconds to wait for alerts")
    parser.add_argument("--timeout", type=float, default=120.0, help="for the first poll, s")
    parser.add_argument("--keep", action="store_true", help="keep the workspace (and log)")
    args = parser.parse_args(argv)
    if args.feeds < 0 or args.duration <= 0 or args.publish_every <= 0:
        parser.error("--feeds must be at least 0, --duration and --publish-every above 0")
    if not 0 <= args.large_share <= 1:
        parser.error("--large-share must be in [0, 1]")
    try:
        outcome = run(args)
    except RuntimeError as exc:
        raise SystemExit(f"bench_latency: {exc}") from None
    return report(outcome, args)


if __name__ == "__main__":
    main()
