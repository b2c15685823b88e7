"""Distributed mode: a feed added once with `newsmon feeds add`, while two
workers run on Kafka and PostgreSQL, is polled by the workers once per
interval (never by both at once), and alerts once; removed, it is polled no
more."""

from __future__ import annotations

from itertools import pairwise

import pytest

from tests.distributed.conftest import is_leader, overlapping, polled, start_together
from tests.e2e.conftest import Service, wait_until
from tests.e2e.test_service import QUIET_ITEM, SEED_ITEM
from tests.feedserver import rss

pytestmark = pytest.mark.distributed

INTERVAL = 2.0  # the added feed's, pinned; jitter adds up to a tenth


def test_a_feed_added_once_is_polled_once_per_interval_by_the_workers(cluster: Service) -> None:
    cluster.options["fetch"] = {"allow_private_networks": True}
    cluster.write_config(["/world.rss"])
    cluster.feeds.set_feed("/world.rss", rss([QUIET_ITEM]))
    cluster.feeds.set_feed("/added.rss", rss([SEED_ITEM]))
    added = cluster.feeds.url("/added.rss")
    workers = start_together(cluster, "a", "b")
    wait_until(lambda: any(is_leader(w) for w in workers), 60, "a leader")
    cluster.wait_polls("/world.rss", 2, timeout=60)

    done = cluster.newsmon("feeds", "add", added, "--interval", f"{INTERVAL:g}s")
    assert done.returncode == 0, done.stderr
    wait_until(lambda: len(cluster.feeds.requests_to("/added.rss")) >= 6, 60, "6 polls")
    cluster.webhook.wait_for(1, timeout=30)  # its story alerted

    requests = sorted(cluster.feeds.requests_to("/added.rss"), key=lambda r: r.started)
    gaps = [after.started - before.started for before, after in pairwise(requests)]
    assert min(gaps) >= INTERVAL * 0.9, gaps  # once per interval, not once per worker
    assert overlapping(requests) == []
    by_worker = sum(polled(w).count(added) for w in workers)
    assert by_worker == len(requests)  # every poll made by one worker

    done = cluster.newsmon("feeds", "remove", added)
    assert done.returncode == 0, done.stderr
    leader = next(w for w in workers if is_leader(w))
    leader.wait_log(f"feeds: no longer polling {added}, removed", timeout=30)
    cluster.wait_polls("/world.rss", 2, timeout=30)  # a poll under way at the removal ends
    before = len(cluster.feeds.requests_to("/added.rss"))
    cluster.wait_polls("/world.rss", 4, timeout=30)  # four more seconds
    assert len(cluster.feeds.requests_to("/added.rss")) == before
    assert len(cluster.webhook.bodies) == 1  # the chat channel got the story once
    for worker in workers:
        assert worker.stop() == 0
