"""Several workers on one deployment: they share the feeds, never poll one feed
at the same time, survive the loss of one of them without losing an alert, and
all pick up a rule file added while they run."""

from __future__ import annotations

import random
import re
import threading
from collections import Counter

import pytest

from tests.distributed.conftest import (
    delivered,
    feed_paths,
    is_leader,
    overlapping,
    polled,
    start_together,
)
from tests.e2e.conftest import Service, wait_until
from tests.feedserver import FeedServer, rss

pytestmark = pytest.mark.distributed

SPICE_RULES = """\
rules:
  - name: spice-watch
    match: 'zanzibar AND spice*'
"""
REPORT = re.compile(r"Zanzibar spice report #(\d+)\b")


# Words to tell the reports apart: identical texts would be copies of one story,
# which newsmon rightly alerts on once.
WORDS = [
    "clove",
    "cardamom",
    "vanilla",
    "nutmeg",
    "cinnamon",
    "pepper",
    "ginger",
    "saffron",
    "harbour",
    "dhow",
    "market",
    "farmers",
    "traders",
    "rain",
    "drought",
    "export",
    "auction",
    "price",
    "rises",
    "falls",
    "record",
    "warehouse",
    "ferry",
    "island",
    "cooperative",
    "buyers",
    "tourists",
    "festival",
    "road",
    "council",
    "tax",
    "harvest",
    "storm",
    "shipment",
    "quality",
    "grading",
    "drying",
    "sacks",
    "lorry",
    "port",
    "customs",
    "minister",
    "subsidy",
    "loan",
    "bank",
    "school",
    "clinic",
    "fishermen",
    "seaweed",
    "coconut",
    "mango",
    "banana",
    "tea",
    "coffee",
    "cocoa",
    "soap",
    "oil",
    "perfume",
]


def spice_item(n: int) -> dict[str, str]:
    pick = random.Random(n).sample(WORDS, 12)
    return {
        "title": f"Zanzibar spice report #{n}: {pick[0]} and {pick[1]}",
        "link": f"https://news.example.org/spice/{n}",
        "guid": f"spice-{n}",
        "description": f"{' '.join(pick[2:])}; lots z{n}a z{n}b z{n}c z{n}d z{n}e (report {n}).",
    }


def reports(cluster: Service) -> Counter[int]:
    """How many chat alerts each spice report got."""
    found: Counter[int] = Counter()
    for body in cluster.webhook.bodies:
        numbers = set(REPORT.findall(f"{body.get('title', '')}\n{body.get('message', '')}"))
        found.update(int(n) for n in numbers)
    return found


class Newsroom(threading.Thread):
    """Publishes report #0, #1, … one every ``every`` seconds, round-robin over
    the feeds; each feed keeps all its stories, as real feeds do."""

    def __init__(self, feeds: FeedServer, paths: list[str], count: int, every: float) -> None:
        super().__init__(name="newsroom", daemon=True)
        self.feeds = feeds
        self.paths = paths
        self.count = count
        self.every = every
        self.published = 0
        self._halted = threading.Event()

    def run(self) -> None:
        stories: dict[str, list[dict[str, str]]] = {path: [] for path in self.paths}
        for n in range(self.count):
            if self._halted.wait(self.every):
                return
            path = self.paths[n % len(self.paths)]
            stories[path].append(spice_item(n))
            self.feeds.set_feed(path, rss(stories[path]))
            self.published = n + 1

    def halt(self) -> None:
        self._halted.set()
        self.join()


def test_two_workers_share_the_feeds_and_never_poll_one_feed_twice_at_once(
    cluster: Service,
) -> None:
    paths = feed_paths(50)
    cluster.interval = "2s"
    cluster.write_config(paths)
    for path in paths:
        # Every response takes a while, so polls of one feed that overlapped would show.
        cluster.feeds.set_feed(path, rss([{"title": f"Quiet {path}", "guid": path}]), delay=0.2)
    # The second worker joins while the first is busy: feeds are handed over live.
    a = cluster.start("a")
    wait_until(lambda: len(polled(a)) >= 10, 60, "the first worker polling")
    b = cluster.start("b")
    wait_until(lambda: bool(polled(b)), 60, "the second worker polling")
    since_b = len(polled(a))  # a's polls from here on are of its share

    urls = {cluster.feeds.url(path) for path in paths}

    def shares() -> tuple[set[str], set[str]]:
        return set(polled(a)[since_b:]), set(polled(b))

    wait_until(lambda: set.union(*shares()) == urls, 60, "every feed polled by its worker")
    by_a, by_b = shares()

    def fewest_polls() -> int:
        counts = Counter(r.path for r in cluster.feeds.requests)
        return min(counts[path] for path in paths)

    wait_until(lambda: fewest_polls() >= 4, 60, "every feed polled 4 times")
    assert cluster.stop(name="a") == 0
    assert cluster.stop(name="b") == 0

    assert overlapping(cluster.feeds.requests) == []
    # Each worker has about half the partitions, so about half the feeds.
    assert len(by_a) >= 10 and len(by_b) >= 10, (len(by_a), len(by_b))
    for worker in (a, b):
        assert "Traceback" not in worker.output()
        assert "drain timed out" not in worker.output()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("role", ["leader", "deliverer"])
def test_killing_a_worker_loses_no_alert(cluster: Service, role: str) -> None:
    """kill -9 of the worker that runs the scheduler, or of the one that delivers
    the chat alerts (all of one channel's alerts share a partition)."""
    cluster.write_channels(email=False, chat=True)
    (cluster.rules / "spice.yaml").write_text(SPICE_RULES)
    paths = feed_paths(50)
    # Short leases: a poll the victim had claimed but not yet handed to the
    # broker is made again within seconds, and an alert it had claimed is sent
    # again ten seconds on (a send gives up after half of that).
    cluster.options["fetch"] = {"timeout": "3s", "lease": "4s"}
    cluster.options["alerts"] = {"lease": "10s"}
    cluster.write_config(paths)
    for path in paths:
        cluster.feeds.set_feed(path, rss([]))
    a, b = start_together(cluster, "a", "b")
    wait_until(lambda: bool(polled(a)) and bool(polled(b)), 60, "both workers polling")
    wait_until(lambda: is_leader(a) != is_leader(b), 30, "one leader")

    newsroom = Newsroom(cluster.feeds, paths, count=150, every=0.1)
    newsroom.start()
    try:
        wait_until(lambda: len(reports(cluster)) >= 30, 60, "alerts flowing")
        # Killed at a moment set by the newsroom, not by a delivery (right after an
        # alert arrives, a batch is always in flight, and all of it comes twice).
        wait_until(lambda: newsroom.published >= 60, 30, "60 reports published")
        if role == "leader":
            victim = a if is_leader(a) else b
        else:
            victim = max((a, b), key=lambda w: len(delivered(w)))
        survivor = b if victim is a else a
        victim.kill()
        polled_before = Counter(polled(survivor))
        newsroom.join(timeout=60)
    finally:
        newsroom.halt()
    assert newsroom.published == 150

    # Usually within seconds: an item the victim had recorded but whose alert it
    # had not yet handed to the broker waits in the outbox for its lease to run
    # out (alerts.lease, 10 s here), then the retry loop sends it.
    wait_until(lambda: len(reports(cluster)) == 150, 60, "an alert for every report")
    got = reports(cluster)
    assert set(got) == set(range(150))
    duplicates = sum(got.values()) - len(got)
    assert duplicates <= 8, f"{duplicates} duplicate alerts: {sorted(n for n in got if got[n] > 1)}"

    # The survivor runs the scheduler and polls every feed, the victim's too.
    assert is_leader(survivor)
    polled_after = Counter(polled(survivor)) - polled_before
    assert set(polled_after) == {cluster.feeds.url(path) for path in paths}
    assert survivor.stop() == 0
    assert "Traceback" not in survivor.output()


def test_a_rule_file_added_while_two_workers_run_reaches_both(cluster: Service) -> None:
    cluster.write_channels(email=False, chat=True)
    paths = feed_paths(20)
    cluster.write_config(paths)
    for path in paths:
        cluster.feeds.set_feed(path, rss([]))
    a, b = start_together(cluster, "a", "b")
    wait_until(lambda: bool(polled(a)) and bool(polled(b)), 60, "both workers polling")

    (cluster.rules / "spice.yaml").write_text(SPICE_RULES)
    a.wait_log("rules reloaded")
    b.wait_log("rules reloaded")
    for n, path in enumerate(paths):
        cluster.feeds.set_feed(path, rss([spice_item(n)]))

    wait_until(lambda: len(reports(cluster)) == len(paths), 60, "an alert for every story")
    assert all("spice-watch" in str(body["message"]) for body in cluster.webhook.bodies)
    # Stories are matched where their fingerprint's partition lives: on both workers.
    for worker in (a, b):
        assert re.search(r"match: Zanzibar spice report #\d+[^\n]* — spice-watch", worker.output())
    assert cluster.stop(name="a") == 0
    assert cluster.stop(name="b") == 0
