"""Adaptive polling, end to end: the pipeline's scheduling and fetching stages,
called without Faust on a fake clock, polling real loopback feeds for hours of
simulated time in seconds. What a user would see in the server's log: a busy
feed polled far more often than an idle one, a feed that goes quiet polled
less and less and then at once again when it wakes, Cache-Control and
``<ttl>`` honoured, a pinned interval kept, and never more polls than the
request budget, each feed falling behind by the same share of its interval
when more are due: a busy feed by seconds, a crowd of idle ones by minutes."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_settings
from monitor.core.items import Item
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.notify.channels import load_channels
from monitor.notify.deliver import Deliverer
from monitor.pipeline import Stages
from monitor.rules.rulebook import Rulebook
from monitor.store import Store, open_store
from tests.feedserver import FeedServer, rss

START = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
SECOND, MINUTE, HOUR = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


# A feed's content at a time: the items published by then, newest first.
Publishing = Callable[[datetime], list[dict[str, Any]]]


def every(gap: timedelta, *, first: datetime = START - timedelta(days=30)) -> Publishing:
    """An item every ``gap`` from ``first`` on; the feed carries the newest 20."""

    def items(now: datetime) -> list[dict[str, Any]]:
        newest = int((now - first) / gap)
        return [story(first + n * gap, n) for n in range(newest, max(newest - 20, -1), -1)]

    return items


def quiet_between(busy: Publishing, quiet_from: datetime, quiet_to: datetime) -> Publishing:
    """``busy``, but nothing new from ``quiet_from`` until ``quiet_to``."""

    def items(now: datetime) -> list[dict[str, Any]]:
        return [i for i in busy(now) if not quiet_from <= i["pubDate"] < quiet_to]

    return items


def story(published: datetime, n: int) -> dict[str, Any]:
    return {
        "title": f"Story {n}",
        "link": f"https://news.example.org/{published:%Y%m%d%H%M%S}-{n}",
        "guid": f"story-{published:%Y%m%d%H%M%S}-{n}",
        "pubDate": published,
    }


@dataclass(frozen=True)
class FeedSpec:
    path: str
    publishing: Publishing
    interval: str | None = None  # pinned
    headers: Mapping[str, str] | None = None
    ttl: int | None = None


@dataclass
class Run:
    stages: Stages
    clock: Clock
    server: FeedServer
    specs: Sequence[FeedSpec]
    log: list[tuple[str, datetime]] = field(default_factory=list)  # (path, simulated time)

    def publish(self) -> None:
        for spec in self.specs:
            items = spec.publishing(self.clock.now)
            self.server.set_feed(
                spec.path,
                rss(items, ttl=spec.ttl),
                etag=f'"{items[0]["guid"] if items else "empty"}"',
                headers=spec.headers,
            )

    async def run_for(self, duration: timedelta, tick: timedelta = 15 * SECOND) -> None:
        """The scheduler's timer every ``tick`` of simulated time, each poll it
        asks for carried out at once and logged when it reached the server."""
        end = self.clock.now + duration
        while self.clock.now < end:
            self.publish()
            for request in await self.stages.scheduling.due():
                path = request.url.removeprefix(self.server.base_url)
                before = len(self.server.requests_to(path))
                await self.stages.fetching.fetch(request, keep)
                if len(self.server.requests_to(path)) > before:
                    self.log.append((path, self.clock.now))
            self.clock.now += tick

    def polls(self, path: str) -> list[datetime]:
        """When ``path`` was polled, in simulated time."""
        return [at for p, at in self.log if p == path]


async def keep(items: Sequence[Item]) -> None:
    """The matching stage's part: not under test here."""


MakeRun = Callable[..., Awaitable[Run]]


@pytest.fixture
async def polling(tmp_path: Path) -> AsyncIterator[MakeRun]:
    """Makes a Run of the stages over the given feeds on a fresh store, the
    config's ``fetch:`` lines added; the clock is the test's."""
    async with (
        FeedServer() as server,
        Fetcher(total_timeout=10, connect_timeout=5) as fetcher,
        FeedParser(max_workers=1, thread=True) as parser,
    ):
        stores: list[Store] = []

        async def make(specs: Sequence[FeedSpec], fetch: str = "") -> Run:
            root = tmp_path / f"run{len(stores)}"
            (root / "rules").mkdir(parents=True)
            (root / "rules" / "watch.yaml").write_text("rules:\n  - name: x\n    match: x\n")
            (root / "apprise.yml").write_text("version: 1\nurls: []\n")
            feeds = "".join(
                f"  - url: {server.url(s.path)}\n"
                + (f"    interval: {s.interval}\n" if s.interval else "")
                for s in specs
            )
            (root / "monitor.yaml").write_text(
                f"feeds:\n{feeds}rules: rules\nnotify: apprise.yml\ndata_dir: data\n"
                f"default_interval: 10m\nfetch:\n  timeout: 10s\n{fetch}"
            )
            settings = load_settings(root / "monitor.yaml")
            store = await open_store(settings.storage)
            stores.append(store)
            clock = Clock(START)
            stages = Stages.build(
                settings,
                store=store,
                rulebook=Rulebook(settings.rules_dir),
                deliverer=Deliverer(load_channels(settings.apprise_config).or_console()),
                fetcher=fetcher,
                parser=parser,
                clock=clock,
            )
            stages.fetching.rng = random.Random(7)  # the same jitter every run
            return Run(stages, clock, server, specs)

        try:
            yield make
        finally:
            for store in stores:
                await store.close()


def gaps(times: Sequence[datetime]) -> list[float]:
    """Seconds between consecutive polls."""
    return [(b - a).total_seconds() for a, b in itertools.pairwise(times)]


# -- the interval learned ------------------------------------------------------------

BUSY = FeedSpec("/busy.rss", every(2 * MINUTE))  # an item every two minutes
IDLE = FeedSpec("/idle.rss", every(timedelta(days=3)))  # one every three days


async def test_a_busy_feed_is_polled_far_more_often_than_an_idle_one(polling: MakeRun) -> None:
    pinned = FeedSpec("/pinned.rss", every(timedelta(days=3)), interval="5m")
    run = await polling([BUSY, IDLE, pinned])
    await run.run_for(3 * HOUR)

    busy, idle = run.server.requests_to("/busy.rss"), run.server.requests_to("/idle.rss")
    # every two minutes or so (the timer's 15 s and the jitter on top), against
    # hourly once the first reading showed how rarely the idle one publishes
    assert 70 <= len(busy) <= 91, len(busy)
    assert len(idle) <= 4, len(idle)
    assert max(gaps(run.polls("/busy.rss"))) <= 150
    # an interval of its own is the user's choice: kept, however idle the feed
    assert 32 <= len(run.server.requests_to("/pinned.rss")) <= 37
    assert all(300 <= gap <= 345 for gap in gaps(run.polls("/pinned.rss")))
    # what was learned is kept in the store, for the next start
    state = await run.stages.fetching.store.feed_state(run.server.url("/busy.rss"))
    assert state is not None and state.item_gap_s == 120


async def test_a_feed_that_goes_quiet_backs_off_gradually_and_speeds_up_when_it_wakes(
    polling: MakeRun,
) -> None:
    hush, wake = START + HOUR, START + 5 * HOUR
    feed = FeedSpec("/wakes.rss", quiet_between(every(2 * MINUTE), hush, wake))
    run = await polling([feed])
    await run.run_for(6 * HOUR)

    polls = run.polls("/wakes.rss")
    before = gaps([t for t in polls if t <= hush])
    quiet = gaps([t for t in polls if hush <= t <= wake])
    after = gaps([t for t in polls if t >= wake + 30 * MINUTE])
    assert max(before) <= 150
    # stretched a quarter at a time (the timer's 15 s and the jitter aside), up
    # to ten of its usual gaps: twenty minutes, three polls an hour, not thirty
    assert all(b <= a * 1.25 + 45 for a, b in itertools.pairwise(quiet)), quiet
    assert 20 * 60 <= max(quiet) <= 20 * 60 + 45, quiet
    assert len(quiet) <= 4 * 3 + 8
    # the first poll to find news brings it back to every two minutes at once
    assert max(after) <= 150, after


# -- the server's hints --------------------------------------------------------------


async def test_cache_control_and_ttl_are_never_undercut(polling: MakeRun) -> None:
    cached = FeedSpec("/cached.rss", every(MINUTE), headers={"Cache-Control": "max-age=1800"})
    ttl = FeedSpec("/ttl.rss", every(MINUTE), ttl=20)
    weekly = FeedSpec("/weekly.rss", every(MINUTE), ttl=7 * 24 * 60)
    run = await polling([cached, ttl, weekly])
    await run.run_for(3 * HOUR)

    # busy feeds all three, yet polled no sooner than they ask
    assert all(gap >= 1800 for gap in gaps(run.polls("/cached.rss")))
    assert len(run.server.requests_to("/cached.rss")) == 6
    assert all(gap >= 1200 for gap in gaps(run.polls("/ttl.rss")))
    assert len(run.server.requests_to("/ttl.rss")) == 9
    # a week's ttl is capped at fetch.max_interval: still polled hourly
    assert [gap // 60 for gap in gaps(run.polls("/weekly.rss"))] == [60, 60]


# -- the request budget --------------------------------------------------------------


async def test_over_budget_every_feed_falls_behind_in_proportion_to_its_interval(
    polling: MakeRun,
) -> None:
    # 40 idle feeds to poll every five minutes and a busy one every minute: nine
    # polls a minute wanted, six allowed
    crowd = [FeedSpec(f"/idle-{n}.rss", every(timedelta(days=3)), interval="5m") for n in range(40)]
    busy = FeedSpec("/busy.rss", every(MINUTE), interval="1m")
    run = await polling([*crowd, busy], fetch="  max_requests_per_second: 0.1\n")
    await run.run_for(90 * MINUTE, tick=5 * SECOND)

    # never more than the budget: a poll every ten seconds at most
    assert all(gap >= 10 for gap in gaps(sorted(at for _, at in run.log)))
    assert len(run.server.requests) <= 90 * 6 + 1
    # once every feed had its first poll, each is late by about the same share
    # of its interval: the busy feed by seconds, the idle ones by minutes
    settled = START + 15 * MINUTE
    busy_gaps = gaps([t for t in run.polls("/busy.rss") if t >= settled])
    idle_gaps = [
        g for n in range(40) for g in gaps([t for t in run.polls(f"/idle-{n}.rss") if t >= settled])
    ]
    busy_mean, idle_mean = sum(busy_gaps) / len(busy_gaps), sum(idle_gaps) / len(idle_gaps)
    assert busy_mean <= 60 * 1.7, busy_mean
    assert max(busy_gaps) <= 60 * 2, busy_gaps
    assert idle_mean >= 300 * 1.3, idle_mean
    assert abs(busy_mean / 60 - idle_mean / 300) <= 0.25, (busy_mean, idle_mean)
    # and none is starved
    assert all(len(run.polls(f"/idle-{n}.rss")) >= 10 for n in range(40))
