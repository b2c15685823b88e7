"""End to end: a feed added with `newsmon feeds add` while `newsmon run` runs
is polled within seconds and alerts on a matching story; removed with `newsmon
feeds remove`, it is polled no more. The test feeds are on loopback, so the
config allows private networks."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Service
from tests.e2e.test_service import QUIET_ITEM, SEED_ITEM, SEED_TITLE
from tests.feedserver import rss

pytestmark = pytest.mark.e2e


def test_a_feed_added_while_running_alerts_and_once_removed_is_polled_no_more(
    service: Service,
) -> None:
    service.options["fetch"] = {"allow_private_networks": True}
    service.write_config(["/world.rss"])
    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM]))
    service.feeds.set_feed("/added.rss", rss([SEED_ITEM]))
    added = service.feeds.url("/added.rss")

    service.start()
    service.wait_polls("/world.rss", 2)
    assert service.feeds.requests_to("/added.rss") == []

    done = service.newsmon("feeds", "add", added, "--name", "Added wire", "--interval", "1s")
    assert done.returncode == 0, done.stderr
    service.wait_log(f"feeds: polling {added}, added at run time", timeout=15)
    [chat] = service.webhook.wait_for(1, timeout=30)
    assert SEED_TITLE in str(chat.get("message", "")) + str(chat.get("title", ""))
    assert "Added wire" in str(chat.get("message", ""))
    service.wait_polls("/added.rss", 2)  # and on, every second

    listed = service.newsmon("feeds", "list")
    assert added in listed.stdout and "store" in listed.stdout

    done = service.newsmon("feeds", "remove", added)
    assert done.returncode == 0, done.stderr
    service.wait_log(f"feeds: no longer polling {added}, removed", timeout=15)
    service.wait_polls("/world.rss", 2)  # a poll under way at the removal ends meanwhile
    polled = len(service.feeds.requests_to("/added.rss"))
    service.wait_polls("/world.rss", 3)  # three more seconds, three more polls of the world
    assert len(service.feeds.requests_to("/added.rss")) == polled
    assert service.stop() == 0
