"""A long run, simulated: weeks of news through the pipeline's own stages
(scheduling, fetching from a real loopback feed server, matching, pruning),
called without Faust on a fake clock, with alerts sent or given up and the
store pruned every few hours. The database stops growing: every table's row
count, and the SQLite file, level off. And no item ever comes back as new
while its feed carries it: not a story pinned for weeks, not the items of a
feed that answers "not modified" for days.

Retention is short here (items 2 days, alerts 4 days) so that a few simulated
weeks are many retention periods."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

from monitor.config import Settings, load_settings
from monitor.core.items import Item
from monitor.fetch.http import Fetcher
from monitor.fetch.parse import FeedParser
from monitor.notify.channels import load_channels
from monitor.notify.deliver import Deliverer
from monitor.pipeline import Stages
from monitor.rules.rulebook import Rulebook
from monitor.store import Store, open_store
from monitor.store.schema import (
    item_texts,
    messages,
    outbox,
    seen_items,
    story_bands,
    story_items,
)
from tests.feedserver import FeedServer, rss
from tests.store.factories import backend, inspect_db

START = datetime(2024, 5, 1, tzinfo=UTC)
ROUND = timedelta(hours=3)  # every feed is polled, and the store pruned, this often
DAYS = 24
SAMPLES = (8, 12, 16, 20, 24)  # days at which the database is measured: past 2 × alerts
TABLES = {
    "seen items": seen_items,
    "item texts": item_texts,
    "story items": story_items,
    "story index": story_bands,  # only the story window's
    "messages": messages,
    "alerts": outbox,
}
VOCABULARY = (
    "harbour minister coast guard vessel island strait election budget port tariff envoy "
    "summit treaty senate court ruling protest factory export chip airline border drone "
    "satellite typhoon flood quake harvest rice market shares bond yield bank loan rate "
    "pension hospital school teacher strike union railway bridge tunnel airport runway "
    "navy patrol missile radar exercise garrison reservist cabinet premier mayor council "
    "ballot recall poll survey campaign rally speech visit delegation embassy consulate "
    "sanction quota levy subsidy grant reactor grid solar wind turbine pipeline tanker "
)
WORDS = VOCABULARY.split()  # for stories that share no more than chance
BODY = "Officials in Taipei and Beijing traded statements on the exercise. " * 30  # ~2 KB

PINNED = {
    "title": "Explainer: what Taiwan's drills are for",
    "link": "https://world.example.org/explainer",
    "guid": "world-explainer",
    "description": "The island's annual exercises, and what they rehearse.",
}
RULES = "rules:\n  - name: drills\n    match: drill*\n"


@dataclass
class Newsroom:
    """What the three feeds carry, round by round.

    - world: three new stories a round (one about drills), the latest twelve,
      and an explainer pinned at the top for the whole run;
    - wire: a copy of each world drills story (same title and summary, its own
      link): a story reported twice, the latest six;
    - slow: five items, then a new one every fifth day, the latest five;
      between them the server answers 304.
    """

    server: FeedServer
    world: list[dict[str, Any]] = field(default_factory=list)
    wire: list[dict[str, Any]] = field(default_factory=list)
    slow: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, n: int) -> None:
        for k in range(3):
            topic = "Taiwan drills" if k == 0 else "Budget debate"  # one in three alerts
            self.world.insert(0, story("world", f"{n}-{k}", topic))
        drills = self.world[2]
        self.wire.insert(0, {**drills, "link": drills["link"].replace("world", "wire")})
        del self.world[12:], self.wire[6:]
        self.server.set_feed("/world.rss", rss([PINNED, *self.world]), etag=f'"w{n}"')
        self.server.set_feed("/wire.rss", rss(self.wire), etag=f'"r{n}"')
        if n == 1 or n % 40 == 0:  # five to begin with, then one every fifth day
            for k in range(5 if n == 1 else 1):
                self.slow.insert(0, story("slow", f"{n}-{k}", "Weekly review of the drills"))
            del self.slow[5:]
            self.server.set_feed("/slow.rss", rss(self.slow), etag=f'"s{n}"')


def story(feed: str, key: str, topic: str) -> dict[str, Any]:
    """A story of its own: words drawn at random, so no two are taken for copies."""
    rng = random.Random(f"{feed}-{key}")
    return {
        "title": f"{topic}: {' '.join(rng.sample(WORDS, 6))}",
        "link": f"https://{feed}.example.org/{key}",
        "guid": f"{feed}-{key}",
        "description": " ".join(rng.sample(WORDS, 14)),
        "content": BODY,
    }


def write_config(root: Path, server: FeedServer, storage: str) -> Settings:
    (root / "rules").mkdir()
    (root / "rules" / "watch.yaml").write_text(RULES)
    (root / "apprise.yml").write_text("version: 1\nurls: []\n")  # the console
    feeds = "".join(f"  - url: {server.url(f'/{f}.rss')}\n" for f in ("world", "wire", "slow"))
    (root / "monitor.yaml").write_text(
        f"feeds:\n{feeds}rules: rules\nnotify: apprise.yml\ndata_dir: data\n"
        f"storage: {storage}\n"
        "alerts: {story_window: 12h}\n"
        "retention: {items: 2d, alerts: 4d}\n"
    )
    return load_settings(root / "monitor.yaml")


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Run:
    stages: Stages
    store: Store
    clock: Clock
    server: FeedServer


@pytest.fixture
async def run(tmp_path: Path, storage_url: str) -> AsyncIterator[Run]:
    """The service's stages on ``storage_url``, their clock in the test's hands."""
    async with FeedServer() as server, FeedParser() as parser:
        settings = write_config(tmp_path, server, storage_url)
        store = await open_store(settings.storage)
        channels = load_channels(settings.apprise_config).or_console()
        clock = Clock(START)
        try:
            async with Fetcher(total_timeout=10, connect_timeout=5) as fetcher:
                stages = Stages.build(
                    settings,
                    store=store,
                    rulebook=Rulebook(settings.rules_dir),
                    deliverer=Deliverer(channels, options=settings.channels),
                    fetcher=fetcher,
                    parser=parser,
                    clock=clock,
                )
                yield Run(stages, store, clock, server)
        finally:
            await store.close()


async def settle(store: Store, now: datetime, round_no: int) -> None:
    """The notify agent's part: the alerts due are sent, one in ten given up."""
    for n, pending in enumerate(await store.claim_alerts(now, now + timedelta(minutes=2))):
        if (round_no + n) % 10 == 0:
            await store.mark_dead(pending.id, "HTTP 500", now)
        else:
            await store.mark_delivered(pending.id, now)


def counts(conn: Connection) -> dict[str, int]:
    return {
        name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        for name, table in TABLES.items()
    }


def file_size(storage: str) -> int:
    """The SQLite file's size once its write-ahead log is folded in."""
    database = make_url(storage).database
    assert database
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Path(database).stat().st_size


async def test_weeks_of_news_and_the_database_stops_growing(run: Run, storage_url: str) -> None:
    stages, clock = run.stages, run.clock
    newsroom = Newsroom(run.server)
    new: Counter[str] = Counter()  # how often each item came out of a poll as new
    titles: dict[str, str] = {}
    measured: dict[int, dict[str, int]] = {}
    sizes: dict[int, int] = {}

    async def match(items: Sequence[Item]) -> None:
        for item in items:
            new[item.fingerprint] += 1
            titles[item.fingerprint] = item.title
            await stages.matching.match_all([item])

    rounds = int(timedelta(days=DAYS) / ROUND)
    for n in range(1, rounds + 1):
        clock.now = START + n * ROUND
        newsroom.publish(n)
        requests = await stages.scheduling.due()
        assert len(requests) == 3  # every feed is due every round
        for request in requests:
            await stages.fetching.fetch(request, match)
        await settle(run.store, clock.now, n)
        await stages.pruning.prune()
        day, rest = divmod(n * ROUND, timedelta(days=1))
        if not rest and day in SAMPLES:
            measured[day] = await inspect_db(storage_url, counts)
            if backend(storage_url) == "sqlite":
                sizes[day] = file_size(storage_url)

    # every item came out as new once: the pinned explainer and the slow feed's
    # items, carried for longer than retention.items, too
    assert [titles[fp] for fp, times in new.items() if times > 1] == []
    assert PINNED["title"] in titles.values()
    assert sum(1 for t in titles.values() if t.startswith("Weekly review")) == 5 + DAYS // 5

    # each table holds about the same from the second week on, far below what came in
    first, *later = (measured[day] for day in SAMPLES)
    for name in TABLES:
        for sample in later:
            assert abs(sample[name] - first[name]) <= max(3, first[name] / 10), (name, measured)
    assert measured[DAYS]["seen items"] < len(new) / 4, (len(new), measured)
    assert measured[DAYS]["messages"] > 0 and measured[DAYS]["story items"] > 0
    assert 0 < measured[DAYS]["story index"] < measured[DAYS]["story items"] * 65, measured
    if sizes:
        assert sizes[DAYS] <= sizes[SAMPLES[0]] * 1.1, sizes
