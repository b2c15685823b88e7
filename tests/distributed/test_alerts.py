"""The core scenario on Kafka and PostgreSQL: one story, one alert per channel,
and none again when the deployment restarts with more workers."""

from __future__ import annotations

import re

import pytest

from tests.distributed.conftest import start_together
from tests.e2e.conftest import Service
from tests.e2e.test_service import (
    CHAT_ONLY_RULES,
    QUIET_ITEM,
    SEED_ITEM,
    SEED_TITLE,
    chat_messages,
    seed_rules,
)
from tests.feedserver import rss
from tests.servers import text_of

pytestmark = pytest.mark.distributed


def test_seed_article_alerts_once_per_channel_and_never_again_after_restart(
    cluster: Service,
) -> None:
    (cluster.rules / "chat-only.yaml").write_text(CHAT_ONLY_RULES)
    expected = seed_rules(cluster.rules)
    shipped = expected - {"kerry-chat-only"}
    assert shipped, "the shipped pack must catch the seed article"
    cluster.feeds.set_feed("/world.rss", rss([SEED_ITEM, QUIET_ITEM]), etag='"v1"')

    cluster.start("a")
    [email] = cluster.smtp.wait_for(1, timeout=60)
    [chat] = cluster.webhook.wait_for(1, timeout=60)
    cluster.wait_polls("/world.rss", 3)
    assert cluster.stop(name="a") == 0

    body = text_of(email)
    assert SEED_TITLE in str(email["Subject"]) + body
    assert "https://news.example.org/world/kerry-wang-yi-talks" in body
    assert "Loopback /world.rss" in body
    for rule in shipped:
        assert rule in body
    assert "kerry-chat-only" not in body  # routed to chat only
    message = str(chat.get("message", ""))
    for rule in expected:
        assert rule in message
    assert re.search(r"\*\*[^*]+\*\*", message), "matched terms are highlighted"
    assert "Thai food" not in body + message

    # Back with two workers on the same database and topics, the feed changed
    # (no 304): the same items come through again and nothing is sent.
    cluster.feeds.set_feed("/world.rss", rss([QUIET_ITEM, SEED_ITEM]), etag='"v2"')
    start_together(cluster, "a", "b")
    cluster.wait_polls("/world.rss", 4)
    assert cluster.stop(name="b") == 0
    cluster.wait_polls("/world.rss", 2)
    assert cluster.stop(name="a") == 0
    assert len(cluster.smtp.messages) == 1
    assert chat_messages(cluster) == [message]
    for worker in cluster.workers.values():
        assert "Traceback" not in worker.output()
        assert "drain timed out" not in worker.output()
