"""Adaptive polling against fixed intervals: polls made and how late stories are seen.

Simulates days of a mix of feeds publishing at random (Poisson) on their own
cadences: busy ones (a story every 2 minutes, quiet from midnight to 6:00),
regular ones (every 20 minutes), slow ones (every 3 hours), idle ones (every
2 days) and daily batches (10 stories at 6:00); a quarter of the feeds give no
dates. Each feed carries its newest 20 stories. Every poll runs the service's
own decisions (``monitor.core.schedule``: the learned gap, the learned
interval, jitter) on a simulated clock; no network, so this measures the
policy, not the fetching. For each policy it prints the polls a day, how long
after publication a story was first polled (mean and 95th percentile; overall
and for the busy feeds), and the stories that dropped out of a feed's newest
20 before any poll saw them.

    .venv/bin/python benchmarks/bench_polling.py [--feeds 200] [--days 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import bisect
import random
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import Target
from monitor.core.schedule import (
    IntervalBounds,
    learned_interval,
    next_poll,
    updated_gap,
)

START = datetime(2024, 6, 3, tzinfo=UTC)
CARRIED = 20  # stories a feed carries
KINDS = (  # name, share of the feeds, mean gap between stories (s)
    ("busy", 0.10, 120.0),
    ("regular", 0.25, 1200.0),
    ("slow", 0.30, 3 * 3600.0),
    ("idle", 0.25, 2 * 86400.0),
    ("batch", 0.10, 86400.0),
)


@dataclass
class Feed:
    kind: str
    dated: bool
    published: list[datetime]  # sorted, from well before the start


@dataclass
class Result:
    polls: int = 0
    delays: list[float] = field(default_factory=list)  # s, each story measured
    busy_polls: int = 0
    busy_delays: list[float] = field(default_factory=list)
    missed: int = 0


def make_feeds(n: int, days: int, rng: random.Random) -> list[Feed]:
    feeds = []
    begin, end = START - timedelta(days=10), START + timedelta(days=days)
    for kind, share, gap in KINDS:
        for _ in range(max(1, round(n * share))):
            times: list[datetime] = []
            if kind == "batch":
                day = begin.replace(hour=6)
                while day < end:
                    times += [day + timedelta(seconds=k) for k in range(10)]
                    day += timedelta(days=1)
            else:
                t = begin + timedelta(seconds=rng.expovariate(1 / gap))
                while t < end:
                    if kind != "busy" or t.hour >= 6:  # busy feeds sleep at night
                        times.append(t)
                    t += timedelta(seconds=rng.expovariate(1 / gap))
            feeds.append(Feed(kind, rng.random() >= 0.25, times))
    return feeds


def simulate(feeds: Sequence[Feed], days: int, fixed: float | None, rng: random.Random) -> Result:
    """Every feed polled until the end: ``fixed`` seconds apart, or adaptively
    (``fixed`` None: the defaults, 1 minute to 1 hour, starting at 5 minutes)."""
    bounds, start_s = IntervalBounds(), 300.0
    end, measured_from = START + timedelta(days=days), START + timedelta(hours=6)
    result = Result()
    for feed in feeds:
        gap: float | None = None
        last_new: datetime | None = None
        seen = 0  # stories published up to this index have been polled
        now = START + timedelta(seconds=rng.uniform(0, fixed or start_s))
        first = True
        while now < end:
            upto = bisect.bisect_right(feed.published, now)
            carried = feed.published[max(0, upto - CARRIED) : upto]
            new = carried if first else feed.published[max(seen, upto - CARRIED) : upto]
            if not first:
                result.missed += sum(
                    1
                    for p in feed.published[seen : max(seen, upto - CARRIED)]
                    if p >= measured_from
                )
                delays = [(now - p).total_seconds() for p in new if p >= measured_from]
                result.delays += delays
                if feed.kind == "busy":
                    result.busy_delays += delays
            result.polls += 1
            result.busy_polls += feed.kind == "busy"
            seen, first = upto, False
            if fixed is not None:
                interval = fixed
            else:
                dates = carried if feed.dated else []
                gap = updated_gap(gap, dates, len(new), last_new, now, start_s)
                if new:
                    last_new = now
                quiet = (now - last_new).total_seconds() if last_new else None
                interval = learned_interval(gap, quiet, start_s, bounds)
            now = next_poll(now, interval, rng)
    return result


def p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else float("nan")


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def main(argv: Sequence[str] | None = None) -> list[Target]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    feeds = make_feeds(args.feeds, args.days, random.Random(args.seed))
    busy = sum(f.kind == "busy" for f in feeds)
    policies: list[tuple[str, float | None]] = [
        ("adaptive 1m-1h", None),
        ("every 1m", 60.0),
        ("every 5m", 300.0),
        ("every 15m", 900.0),
        ("every 1h", 3600.0),
    ]
    print(f"{len(feeds)} feeds ({busy} busy), {args.days} days simulated")
    print(
        f"{'policy':<16}{'polls/day':>11}{'busy/day':>10}{'mean late':>11}"
        f"{'p95 late':>11}{'busy mean':>11}{'busy p95':>10}{'missed':>8}"
    )
    results = {}
    for name, fixed in policies:
        r = simulate(feeds, args.days, fixed, random.Random(args.seed))
        results[name] = r
        print(
            f"{name:<16}{r.polls / args.days:>11,.0f}{r.busy_polls / args.days / busy:>10,.0f}"
            f"{minutes(statistics.fmean(r.delays)):>11}{minutes(p95(r.delays)):>11}"
            f"{minutes(statistics.fmean(r.busy_delays)):>11}{minutes(p95(r.busy_delays)):>10}"
            f"{r.missed:>8}"
        )
    adaptive, every5 = results["adaptive 1m-1h"], results["every 5m"]
    sooner = statistics.fmean(every5.busy_delays) / statistics.fmean(adaptive.busy_delays)
    print(
        f"adaptive vs every 5m: {adaptive.polls / every5.polls:.2f}x the polls, "
        f"busy feeds' stories seen {sooner:.1f}x sooner"
    )
    return [
        Target(
            "adaptive polling: polls vs every 5m",
            None,
            f"{adaptive.polls / every5.polls:.2f}x the polls, busy stories seen "
            f"{minutes(statistics.fmean(adaptive.busy_delays))} late on average "
            f"(every 5m: {minutes(statistics.fmean(every5.busy_delays))})",
        )
    ]


if __name__ == "__main__":
    main()
