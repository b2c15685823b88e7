"""Fetch + parse throughput: feedparser in the process pool vs on the event loop.

A loopback server (in its own process, so it does not compete with the
client for the GIL) serves N feeds; the client fetches and parses all of
them concurrently, once with parsing in ``FeedParser``'s process pool and
once calling ``parse_feed`` directly on the event loop. Besides requests/s it
reports the worst event-loop stall seen by a 10 ms heartbeat: that is what
every other feed, timer and agent in the service waits through.

    python benchmarks/bench_fetch.py [--feeds 200] [--items 40] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser, ParsedFeed, parse_feed
from tests.feedserver import FeedServer, rss

PARAGRAPH = (
    "<p>Officials from both governments met on <b>Monday</b> for talks that "
    "analysts described as <a href='/analysis/1'>cautious but constructive</a>, "
    "covering tariffs, export controls &amp; climate finance.</p>"
)


def build_feed(n: int, items: int) -> str:
    return rss(
        [
            {
                "title": f"Story {n}-{i}: talks resume & markets react",
                "link": f"/news/{n}/{i}?utm_source=rss",
                "guid": f"urn:bench:{n}:{i}",
                "description": PARAGRAPH * 4,
                "pubDate": "Mon, 06 Jan 2025 10:15:00 +0100",
            }
            for i in range(items)
        ],
        title=f"Bench feed {n}",
    )


def serve(feeds: int, items: int, conn: Connection) -> None:
    """Server process: serve the feeds until the parent says stop."""
    server = FeedServer()
    for n in range(feeds):
        server.set_feed(f"/feed/{n}.xml", build_feed(n, items), gzip=True)
    with server:
        conn.send(server.base_url)
        conn.recv()


@dataclass
class Run:
    mode: str
    seconds: float
    feeds: int
    items: int
    max_stall_ms: float

    @property
    def rate(self) -> float:
        return self.feeds / self.seconds


async def heartbeat(stalls: list[float], period: float = 0.01) -> None:
    while True:
        start = time.perf_counter()
        await asyncio.sleep(period)
        stalls.append(max(0.0, time.perf_counter() - start - period))


async def run(
    mode: str,
    urls: list[str],
    concurrency: int,
    parse: Callable[[bytes, str], Awaitable[ParsedFeed]],
) -> Run:
    stalls: list[float] = []
    beat = asyncio.create_task(heartbeat(stalls))
    items = 0
    async with Fetcher(per_host=concurrency, max_connections=concurrency) as fetcher:

        async def one(url: str) -> int:
            result = await fetcher.fetch(url)
            if result.body is None:
                raise SystemExit(f"{url}: {result.error}")
            return len((await parse(result.body, url)).items)

        start = time.perf_counter()
        counts = await asyncio.gather(*(one(url) for url in urls))
        seconds = time.perf_counter() - start
        items = sum(counts)
    beat.cancel()
    return Run(mode, seconds, len(urls), items, max(stalls, default=0.0) * 1000)


async def main_async(args: argparse.Namespace, base_url: str) -> list[Run]:
    urls = [f"{base_url}/feed/{n}.xml" for n in range(args.feeds)]

    # how long one feed takes to parse, for scale
    async with Fetcher() as fetcher:
        sample = await fetcher.fetch(urls[0])
    assert sample.body is not None
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        parse_feed(sample.body, urls[0])
        timings.append(time.perf_counter() - start)
    print(
        f"one feed: {len(sample.body) / 1024:.0f} KiB, {args.items} items, "
        f"parse_feed {statistics.median(timings) * 1000:.1f} ms"
    )

    async def on_loop(body: bytes, url: str) -> ParsedFeed:
        return parse_feed(body, url)

    results: list[Run] = []
    with FeedParser(max_workers=args.workers) as pool:
        await pool.parse(sample.body, urls[0])  # start the workers before timing
        for _ in range(args.rounds):
            results.append(await run("event loop", urls, args.concurrency, on_loop))
            results.append(await run("process pool", urls, args.concurrency, pool.parse))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=40, help="items per feed")
    parser.add_argument("--workers", type=int, default=max(2, min(4, os.cpu_count() or 2)))
    parser.add_argument("--concurrency", type=int, default=32, help="requests at a time")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    server = context.Process(target=serve, args=(args.feeds, args.items, theirs), daemon=True)
    server.start()
    try:
        base_url = ours.recv()
        results = asyncio.run(main_async(args, base_url))
    finally:
        ours.send("stop")
        server.join(10)

    print(
        f"\n{args.feeds} feeds, {args.concurrency} requests at a time, "
        f"{args.workers} parser workers, {os.cpu_count()} CPUs, best of {args.rounds}\n"
    )
    print(f"{'mode':<14} {'feeds/s':>9} {'items/s':>10} {'worst loop stall':>17}")
    best: dict[str, Run] = {}
    stalls: dict[str, float] = {}
    for mode in ("event loop", "process pool"):
        runs = [r for r in results if r.mode == mode]
        best[mode] = b = min(runs, key=lambda r: r.seconds)
        stalls[mode] = max(r.max_stall_ms for r in runs)
        print(f"{mode:<14} {b.rate:>9.1f} {b.items / b.seconds:>10.0f} {stalls[mode]:>14.1f} ms")
    ratio = best["process pool"].rate / best["event loop"].rate
    print(f"\nprocess pool / event loop throughput: {ratio:.2f}x")
    stall_ratio = stalls["event loop"] / max(stalls["process pool"], 0.001)
    print(f"event loop / process pool worst stall: {stall_ratio:.0f}x")
    print("(throughput scales with free CPUs: the server and the client share this machine)")


if __name__ == "__main__":
    main()
