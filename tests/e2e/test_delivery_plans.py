"""End to end: every decision about an alert goes through the delivery planner,
in combinations the first policy tests did not try: a rule's digest on a channel
without options of its own, alerts released at the end of quiet hours on a
rate-limited channel, and a digest that keeps failing."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.e2e.conftest import ADMIN_ADDR, Service, wait_until
from tests.e2e.test_alert_policies import (
    ERUPTIONS,
    QUIET_ITEM,
    QUIET_SECONDS,
    chat_posts,
    emails_to,
    message_of,
    outbox,
    quiet_for_seconds,
    settle,
    wait_for_chat,
    wait_for_emails,
    with_rules,
)
from tests.feedserver import rss
from tests.servers import TO_ADDR, text_of

pytestmark = pytest.mark.e2e

DIGEST_RULES = """\
rules:
  - name: volcano-watch
    match: 'volcan* OR eruption* OR lava'
    notify: [chat]
    digest: 5s
"""


def test_a_rule_digest_applies_on_a_channel_without_options(service: Service) -> None:
    (service.rules / "volcanoes.yaml").write_text(DIGEST_RULES)
    service.write_config(["/world.rss"])  # no channels: section at all
    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM]))
    service.start()
    service.wait_polls("/world.rss", 1)

    # publish just after a 5 s digest time, so the three share the next one
    wait_until(lambda: 0.2 < time.time() % 5 < 1.0, 10, "the start of a digest period")
    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM, *ERUPTIONS]))
    [digest] = wait_for_chat(service, 1)
    settle(service)
    assert service.stop() == 0

    assert len(chat_posts(service)) == 1  # one message, not three
    text = message_of(digest)
    assert all(item["title"] in text for item in ERUPTIONS)


def test_alerts_released_when_quiet_hours_end_keep_to_the_rate_limit(service: Service) -> None:
    with_rules(service)
    window, end = quiet_for_seconds(QUIET_SECONDS)
    service.options["channels"] = {"chat": {"quiet": window, "max_per_hour": 1}}
    service.write_config(["/world.rss"])
    service.feeds.set_feed("/world.rss", rss(ERUPTIONS))
    service.start()

    wait_for_emails(service, TO_ADDR, 3)
    assert chat_posts(service) == []  # held
    [chat] = wait_for_chat(service, 1, timeout=QUIET_SECONDS + 30)
    assert datetime.now(UTC) >= end
    settle(service)
    counts, _ = outbox(service)
    assert service.stop() == 0

    # one of the three went out when quiet hours ended; the two over the limit
    # wait for the next hour's digest instead of all three going at once
    assert len(chat_posts(service)) == 1
    assert any(item["title"] in message_of(chat) for item in ERUPTIONS)
    assert counts == {"pending": 0, "digest": 2, "dead": 0, "delivered": 4}


def test_a_digest_failing_past_max_age_is_dead_lettered_and_reported(service: Service) -> None:
    with_rules(service)
    service.write_channels(email=True, chat=True, admin=True)
    service.options["alerts"] = {"max_age": "4s"}
    service.options["channels"] = {"chat": {"digest": "2s"}}
    service.write_config(["/world.rss"])
    service.webhook.fail_next(10**6)
    service.feeds.set_feed("/world.rss", rss(ERUPTIONS[:2]))
    service.start()

    [notice] = wait_for_emails(service, ADMIN_ADDR, 1, timeout=60)
    wait_for_emails(service, TO_ADDR, 2)
    settle(service)
    counts, listing = outbox(service, "--dead")
    assert service.stop() == 0

    assert "digest given up: 2 alerts" in str(notice["Subject"])
    assert all(item["title"] in text_of(notice) for item in ERUPTIONS[:2])
    assert counts == {"pending": 0, "digest": 0, "dead": 2, "delivered": 2}
    for item in ERUPTIONS[:2]:
        [dead] = [line for line in listing.splitlines() if item["title"] in line]
        assert "500" in dead or "Internal Server Error" in dead, dead
    assert len(emails_to(service, ADMIN_ADDR)) == 1  # once, not once per retry
