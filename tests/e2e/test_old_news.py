"""End to end: old news a feed still carries is recorded but never alerts
(alerts.max_item_age), and `newsmon replay` still finds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import Service
from tests.feedserver import rss
from tests.servers import text_of

pytestmark = pytest.mark.e2e

SPICE_RULES = "rules:\n  - name: spice-watch\n    match: 'zanzibar AND spice*'\n"


def test_a_week_old_story_is_seen_but_only_the_fresh_one_alerts(service: Service) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    fresh = {
        "title": "Zanzibar spice harvest hits a record",
        "link": "https://news.example.org/zanzibar/harvest",
        "guid": "zanzibar-harvest",
        "description": "Clove growers on Pemba island report their best year.",
        "pubDate": now - timedelta(hours=1),
    }
    old = {
        "title": "Zanzibar spice auction moves to Stone Town",
        "link": "https://news.example.org/zanzibar/auction",
        "guid": "zanzibar-auction",
        "description": "Traders will bid in the old customs house from next month.",
        "pubDate": now - timedelta(days=7),
    }
    (service.rules / "spices.yaml").write_text(SPICE_RULES)
    service.feeds.set_feed("/world.rss", rss([old, fresh]), etag='"v1"')

    service.start()
    [chat] = service.webhook.wait_for(1, timeout=30)
    [email] = service.smtp.wait_for(1, timeout=30)
    service.wait_log(f"old news, no alert: {old['title']}")
    assert service.stop() == 0
    sent = str(chat.get("message", "")) + str(chat.get("title", "")) + text_of(email)
    assert fresh["title"] in sent
    assert old["title"] not in sent

    # A restart, the feed changed (no 304): both are known, the old one is not
    # looked at again, and nothing more is sent.
    service.feeds.set_feed("/world.rss", rss([fresh, old]), etag='"v2"')
    service.start()
    service.wait_polls("/world.rss", 3)
    assert service.stop() == 0
    assert len(service.webhook.bodies) == 1
    assert len(service.smtp.messages) == 1
    assert service.output().count(f"old news, no alert: {old['title']}") == 1

    # Looking back is what replay is for: it lists both.
    replay = service.newsmon("replay", "--since", "1d", "--rule", "spice-watch")
    assert replay.returncode == 0, replay.stderr
    assert fresh["title"] in replay.stdout
    assert old["title"] in replay.stdout
    assert "Traceback" not in service.output()
