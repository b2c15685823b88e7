"""End to end: `newsmon run` on the embedded default, with a real feed server,
a real SMTP server and a real webhook server on loopback."""

from __future__ import annotations

import json
import re
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.rules.files import read_rules
from tests.e2e.conftest import REPO, Service, wait_until
from tests.feedserver import BROKEN_XML, rss
from tests.servers import text_of

pytestmark = pytest.mark.e2e

SEED = (REPO / "tests" / "data" / "seed-article.txt").read_text()
# Recent, so that it is news (alerts.max_item_age); HTTP dates keep whole seconds.
SEED_PUBLISHED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
SEED_TITLE = "Kerry tells China's Wang Yi US is 'very committed' to repairing strained ties"
SEED_ITEM = {
    "title": SEED_TITLE,
    "link": "https://news.example.org/world/kerry-wang-yi-talks?utm_source=rss",
    "guid": "https://news.example.org/world/kerry-wang-yi-talks",
    "description": "<p>" + SEED.split("\n")[0] + "</p>",
    "content": "".join(f"<p>{para}</p>" for para in SEED.split("\n") if para.strip()),
    "pubDate": SEED_PUBLISHED,
}
QUIET_ITEM = {
    "title": "Best Thai food in town, reviewed",
    "link": "https://news.example.org/food/thai",
    "guid": "thai-food-1",
    "description": "A climate of fear grips the kitchen as County Kerry chefs hold talks.",
}
CHAT_ONLY_RULES = """\
rules:
  - name: kerry-chat-only
    match: 'Kerry NEAR/3 envoy'
    notify: [chat]
"""


def seed_rules(rules_dir: Path) -> set[str]:
    """What the shipped rule pack says of the seed article, computed here independently."""
    fields = {"title": SEED_TITLE, "summary": SEED.split("\n")[0], "content": SEED, "feed": ""}
    return {m.rule.name for m in read_rules(rules_dir).match(fields)}


def chat_messages(service: Service) -> list[str]:
    return [str(body.get("message", "")) for body in service.webhook.bodies]


def test_seed_article_alerts_once_per_channel_and_never_again_after_restart(
    service: Service,
) -> None:
    (service.rules / "chat-only.yaml").write_text(CHAT_ONLY_RULES)
    expected = seed_rules(service.rules)
    assert {"kerry-chat-only"} < expected, "the shipped pack must catch the seed article"
    shipped = expected - {"kerry-chat-only"}
    service.feeds.set_feed("/world.rss", rss([SEED_ITEM, QUIET_ITEM]), etag='"v1"')

    service.start()
    [email] = service.smtp.wait_for(1, timeout=30)
    [chat] = service.webhook.wait_for(1, timeout=30)
    service.wait_polls("/world.rss", 3)  # later polls bring nothing new
    assert service.stop() == 0

    body = text_of(email)
    assert SEED_TITLE in str(email["Subject"]) + body
    assert "https://news.example.org/world/kerry-wang-yi-talks" in body
    assert "utm_source" not in body
    assert "Loopback /world.rss" in body
    assert f"{SEED_PUBLISHED:%Y-%m-%d %H:%M}" in body
    for rule in shipped:
        assert rule in body
    assert "kerry-chat-only" not in body  # routed to chat only
    message = str(chat.get("message", ""))
    for rule in expected:
        assert rule in message
    assert re.search(r"\*\*[^*]+\*\*", message), "matched terms are highlighted"
    assert "Thai food" not in body + message

    # A restart on the same state, with the feed changed (no 304): same items, no alerts.
    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM, SEED_ITEM]), etag='"v2"')
    service.start()
    service.wait_polls("/world.rss", 3)
    assert service.stop() == 0
    assert len(service.smtp.messages) == 1
    assert len(service.webhook.bodies) == 1
    assert "Traceback" not in service.output()


def test_conditional_get_is_used_between_polls(service: Service) -> None:
    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM]), etag='"abc"')
    service.start()
    service.wait_polls("/world.rss", 3)
    assert service.stop() == 0
    requests = service.feeds.requests_to("/world.rss")
    assert requests[0].headers.get("If-None-Match") is None
    assert any(r.headers.get("If-None-Match") == '"abc"' for r in requests[1:])
    assert "newsmon" in requests[0].headers["User-Agent"]


def test_rule_file_added_while_running_takes_effect(service: Service) -> None:
    story = {
        "title": "Zanzibar spice harvest hits record",
        "link": "https://news.example.org/zanzibar",
        "guid": "zanzibar-1",
    }
    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM]))
    service.start()
    service.wait_polls("/world.rss", 2)

    (service.rules / "spices.yaml").write_text(
        "rules:\n  - name: spice-watch\n    match: 'zanzibar AND spice*'\n"
    )
    service.wait_log("rules reloaded")
    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM, story]))
    [chat] = service.webhook.wait_for(1, timeout=30)
    assert "spice-watch" in str(chat["message"])
    assert service.stop() == 0


def test_broken_rule_file_keeps_last_good_rules_and_check_names_it(service: Service) -> None:
    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM]))
    (service.rules / "spices.yaml").write_text(
        "rules:\n  - name: spice-watch\n    match: 'zanzibar AND spice*'\n"
    )
    service.start()
    service.wait_polls("/world.rss", 1)

    broken = service.rules / "broken.yaml"
    broken.write_text("rules:\n  - name: oops\n    match: '(taiwan AND'\n")
    service.wait_log("keeping the last good ones")
    assert f"{broken}:3" in service.output()

    check = service.newsmon("check")
    assert check.returncode != 0
    assert f"{broken}:3" in check.stderr

    story = {
        "title": "Zanzibar spice prices soar",
        "link": "https://news.example.org/z2",
        "guid": "z2",
    }
    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM, story]))
    [chat] = service.webhook.wait_for(1, timeout=30)
    assert "spice-watch" in str(chat["message"])
    assert service.process is not None and service.process.poll() is None  # still running
    assert service.stop(signal.SIGINT) == 0


def test_a_broken_feed_never_stops_the_others(service: Service) -> None:
    service.write_config(["/broken.rss", "/world.rss"])
    service.feeds.set_feed("/broken.rss", BROKEN_XML)
    service.feeds.set_feed("/world.rss", rss([SEED_ITEM]))
    service.start()
    service.webhook.wait_for(1, timeout=30)
    service.wait_polls("/broken.rss", 2)  # retried, not given up
    assert service.stop() == 0
    assert "broken.rss" in service.output()


def test_alerts_print_to_console_when_no_channel_is_configured(service: Service) -> None:
    (service.root / "config" / "apprise.yml").write_text("version: 1\nurls: []\n")
    service.feeds.set_feed("/world.rss", rss([SEED_ITEM]))
    service.start()
    wait_until(lambda: SEED_TITLE in service.output(), 30, "the alert on the console")
    assert service.stop() == 0
    assert service.output().count("https://news.example.org/world/kerry-wang-yi-talks") >= 1


def test_check_and_match_commands_on_the_workspace(service: Service) -> None:
    check = service.newsmon("check")
    assert check.returncode == 0, check.stderr
    assert "rules" in check.stdout

    lines = [
        json.dumps(
            {"id": "seed", "title": SEED_TITLE, "summary": SEED.split("\n")[0], "content": SEED}
        ),
        json.dumps(
            {"id": "thai", "title": QUIET_ITEM["title"], "summary": QUIET_ITEM["description"]}
        ),
    ]
    result = service.newsmon("match", "--input", "-", input="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["seed", "thai"]
    assert set(out[0]["rules"]) == seed_rules(service.rules)
    assert out[1]["rules"] == []
    assert all(m["terms"] for m in out[0]["matches"])


def test_a_failing_channel_is_retried_from_the_outbox(service: Service) -> None:
    service.webhook.fail_next(2)
    service.feeds.set_feed("/world.rss", rss([SEED_ITEM]))
    service.start()
    [chat] = service.webhook.wait_for(1, timeout=40)  # after two failed attempts
    service.wait_polls("/world.rss", 2)
    assert service.stop() == 0
    assert service.webhook.failed_requests == 2
    assert SEED_TITLE in str(chat["message"]) + str(chat.get("title", ""))
    assert len(service.smtp.messages) == 1  # the other channel was never affected
    assert "HTTP" in service.output() or "500" in service.output()  # the reason is logged


def test_test_rule_and_notify_test_commands(service: Service) -> None:
    hit = service.newsmon(
        "test-rule", "--query", '"climate talks" AND Kerry', "--text", f"{SEED_TITLE}\n{SEED}"
    )
    assert hit.returncode == 0, hit.stderr
    assert "matched: Kerry, climate talks" in hit.stdout
    assert "**Kerry**" in hit.stdout

    miss = service.newsmon("test-rule", "--query", "zanzibar", "--text", SEED_TITLE)
    assert miss.returncode == 1
    assert "0 match" in miss.stdout

    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM, SEED_ITEM]))
    by_url = service.newsmon(
        "test-rule", "--query", "@Taiwan", "--url", service.feeds.url("/world.rss")
    )
    assert by_url.returncode == 0, by_url.stderr
    assert SEED_TITLE in by_url.stdout
    assert "Thai food" not in by_url.stdout

    bad = service.newsmon("test-rule", "--query", "(taiwan", "--text", "x")
    assert bad.returncode == 2
    assert "column" in bad.stderr

    sent = service.newsmon("notify-test", "--tag", "chat")
    assert sent.returncode == 0, sent.stderr
    service.webhook.wait_for(1, timeout=10)
    assert service.smtp.messages == []
    sent_all = service.newsmon("notify-test")
    assert sent_all.returncode == 0
    service.smtp.wait_for(1, timeout=10)
