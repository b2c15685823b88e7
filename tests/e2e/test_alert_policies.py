"""End to end: the alert policies of `newsmon run` (stories, the durable outbox
and its dead letters, digests, rate limits, quiet hours, feed health), with a
real feed server, SMTP server and webhook server on loopback."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_ADDR, CHECK_EVERY, Service, wait_until
from tests.feedserver import rss
from tests.servers import TO_ADDR, text_of

pytestmark = pytest.mark.e2e

# Routed to the alert channels by name: the admin channel hears only about the service.
RULES = """\
rules:
  - name: volcano-watch
    match: 'volcan* OR eruption* OR lava'
    notify: [email, chat]
"""
QUIET_ITEM = {
    "title": "Best Thai food in town, reviewed",
    "link": "https://news.example.org/food/thai",
    "guid": "thai-food-1",
    "description": "A new kitchen opens on the high street.",
}
# One wire story as two outlets print it (their own headline and dateline), and
# another story on the same topic the same day.
WIRE_LEDE = (
    "A volcano on Iceland's Reykjanes peninsula erupted early on Sunday, sending lava "
    "into the fishing town of Grindavik, which had been evacuated hours earlier, the "
    "Icelandic Meteorological Office said."
)
WIRE_COPY = {
    "title": "Volcano erupts near Grindavik as lava reaches homes",
    "link": "https://wire.example.org/2024/01/14/iceland-volcano",
    "guid": "wire-iceland-volcano",
    "description": WIRE_LEDE,
}
HERALD_COPY = {
    "title": "Lava flows into Icelandic town of Grindavik after volcanic eruption",
    "link": "https://herald.example.com/world/grindavik-lava",
    "guid": "herald-grindavik-lava",
    "description": "REYKJAVIK (AP) — " + WIRE_LEDE.replace("early on Sunday", "early Sunday"),
}
OTHER_STORY = {
    "title": "Iceland volcano: scientists warn of months of eruptions on Reykjanes",
    "link": "https://gazette.example.net/science/reykjanes-era",
    "guid": "gazette-reykjanes-era",
    "description": (
        "Volcanologists at the University of Iceland said the Reykjanes peninsula may have "
        "entered a new volcanic era, with eruptions likely to recur for decades and a new "
        "risk map due next week."
    ),
}
# Three different stories on the topic: each is an alert of its own.
ERUPTIONS = [
    {
        "title": title,
        "link": f"https://news.example.org/volcanoes/{slug}",
        "guid": f"volcano-{slug}",
        "description": summary,
    }
    for slug, title, summary in [
        (
            "etna",
            "Etna eruption closes Catania airport for a second day",
            "Ash from Mount Etna forced Sicily's main airport to cancel flights, "
            "stranding thousands of holidaymakers.",
        ),
        (
            "merapi",
            "Indonesia raises alert level as Merapi spews hot clouds",
            "Villagers on the slopes of the Javanese volcano were told to stay five "
            "kilometres from the crater.",
        ),
        (
            "kilauea",
            "Kilauea lava lake rises inside Hawaii summit crater",
            "Geologists watching the Big Island's most active volcano recorded fresh "
            "fountains overnight, with no homes at risk.",
        ),
    ]
]
# How long quiet hours last from the moment a test writes them: the service
# starts, polls and matches well within it (about 2 s), and the alerts held
# go out at its first look at the outbox (every CHECK_EVERY) after the end.
QUIET_SECONDS = 12
SUMMARY = re.compile(r"pending (\d+), in digests (\d+), dead (\d+), delivered (\d+)")


def with_rules(service: Service) -> Service:
    (service.rules / "volcanoes.yaml").write_text(RULES)
    return service


def chat_posts(service: Service) -> list[dict[str, Any]]:
    return [r["json"] for r in service.webhook.requests if r["path"] == "/chat"]


def message_of(post: dict[str, Any]) -> str:
    return f"{post.get('title', '')}\n{post.get('message', '')}"


def emails_to(service: Service, address: str) -> list[Message]:
    return [m for m in service.smtp.messages if address in str(m["To"])]


def wait_for_emails(service: Service, address: str, n: int, timeout: float = 40) -> list[Message]:
    wait_until(lambda: len(emails_to(service, address)) >= n, timeout, f"{n} emails to {address}")
    return emails_to(service, address)


def wait_for_chat(service: Service, n: int, timeout: float = 40) -> list[dict[str, Any]]:
    wait_until(lambda: len(chat_posts(service)) >= n, timeout, f"{n} chat messages")
    return chat_posts(service)


def outbox(service: Service, *args: str) -> tuple[dict[str, int], str]:
    """`newsmon outbox`: its counts by state, and the whole output."""
    result = service.newsmon("outbox", *args)
    assert result.returncode == 0, result.stderr
    found = SUMMARY.search(result.stdout)
    assert found, result.stdout
    states = ("pending", "digest", "dead", "delivered")
    counts = dict(zip(states, map(int, found.groups()), strict=True))
    return counts, result.stdout


def quiet_for_seconds(seconds: float) -> tuple[str, datetime]:
    """Quiet hours that began an hour ago and end ``seconds`` from now, to the
    second (written ``HH:MM:SS``), and the moment they end."""
    now = datetime.now(UTC)
    end = (now + timedelta(seconds=seconds)).replace(microsecond=0)
    return f"{now - timedelta(hours=1):%H:%M:%S}-{end:%H:%M:%S}", end


def settle(service: Service, path: str = "/world.rss") -> None:
    """Let the service run through a few more polls of ``path`` and two looks
    at the outbox (every ``CHECK_EVERY``), so anything it would still send has
    had its chance to arrive."""
    started = time.monotonic()
    service.wait_polls(path, 2)
    time.sleep(max(0.0, started + 2 * CHECK_EVERY - time.monotonic()))  # usually over


def test_one_story_from_several_outlets_alerts_once_per_channel(service: Service) -> None:
    with_rules(service)
    service.write_config(["/wire.rss", "/herald.rss", "/gazette.rss"])
    service.feeds.set_feed("/wire.rss", rss([WIRE_COPY]))
    service.feeds.set_feed("/herald.rss", rss([HERALD_COPY, QUIET_ITEM]))
    service.feeds.set_feed("/gazette.rss", rss([OTHER_STORY]))
    service.start()

    emails = wait_for_emails(service, TO_ADDR, 2)
    posts = wait_for_chat(service, 2)
    settle(service, "/herald.rss")  # nothing more is on its way
    assert service.stop() == 0

    emails, posts = emails_to(service, TO_ADDR), chat_posts(service)
    assert len(emails) == 2, [m["Subject"] for m in emails]
    assert len(posts) == 2, [p.get("title") for p in posts]
    shared = (WIRE_COPY["title"], HERALD_COPY["title"])
    for texts in (
        [str(m["Subject"]) + text_of(m) for m in emails],
        [message_of(p) for p in posts],
    ):
        # one message about the shared story (under either outlet's headline)...
        assert sum(any(t in text for t in shared) for text in texts) == 1, texts
        # ...and one about the other story
        assert sum(OTHER_STORY["title"] in text for text in texts) == 1, texts

    stories = service.newsmon("stories")
    assert stories.returncode == 0, stories.stderr
    assert "1 stories reported by several feeds" in stories.stdout, stories.stdout
    assert "Loopback /wire.rss" in stories.stdout
    assert "Loopback /herald.rss" in stories.stdout
    assert WIRE_COPY["link"] in stories.stdout
    assert HERALD_COPY["link"] in stories.stdout
    assert OTHER_STORY["link"] not in stories.stdout  # reported by one feed only
    assert "Traceback" not in service.output()


def test_an_undelivered_alert_survives_kill_9_and_arrives_once(service: Service) -> None:
    with_rules(service)
    service.webhook.fail_next(10**6)
    service.feeds.set_feed("/world.rss", rss([ERUPTIONS[0]]))
    service.start()
    wait_for_emails(service, TO_ADDR, 1)
    service.wait_log("retry at", count=2, timeout=40)  # the chat channel failed twice
    # Kill between attempts (the next is 4 s away), not during one: an alert being
    # sent when its worker dies waits out its lease (2 min) before it is retried.
    time.sleep(1)
    service.worker().kill()

    counts, _ = outbox(service)
    assert counts == {"pending": 1, "digest": 0, "dead": 0, "delivered": 1}
    assert chat_posts(service) == []

    service.webhook.fail_next(0)
    service.start()
    [post] = wait_for_chat(service, 1)
    settle(service)
    assert service.stop() == 0

    assert len(chat_posts(service)) == 1
    assert ERUPTIONS[0]["title"] in message_of(post)
    assert len(emails_to(service, TO_ADDR)) == 1  # delivered before the kill: not again
    counts, _ = outbox(service)
    assert counts == {"pending": 0, "digest": 0, "dead": 0, "delivered": 2}


def test_an_alert_failing_past_max_age_is_dead_lettered_and_reported(service: Service) -> None:
    with_rules(service)
    service.write_channels(email=True, chat=True, admin=True)
    service.options["alerts"] = {"max_age": "3s"}
    service.write_config(["/world.rss"])
    service.webhook.fail_next(10**6)
    service.feeds.set_feed("/world.rss", rss([ERUPTIONS[1]]))
    service.start()

    [notice] = wait_for_emails(service, ADMIN_ADDR, 1)
    wait_for_emails(service, TO_ADDR, 1)
    counts, listing = outbox(service, "--dead")
    settle(service)
    assert service.stop() == 0

    title = ERUPTIONS[1]["title"]
    assert "given up" in str(notice["Subject"])
    assert title in str(notice["Subject"]) + text_of(notice)
    assert counts == {"pending": 0, "digest": 0, "dead": 1, "delivered": 1}
    [dead] = [line for line in listing.splitlines() if title in line]
    assert "500" in dead or "Internal Server Error" in dead, dead  # why it failed
    assert len(emails_to(service, ADMIN_ADDR)) == 1  # the admin heard once, and no alerts
    assert len(emails_to(service, TO_ADDR)) == 1
    assert chat_posts(service) == []


def test_a_chat_digest_gathers_alerts_into_one_message(service: Service) -> None:
    with_rules(service)
    service.options["channels"] = {"chat": {"digest": "5s"}}
    service.write_config(["/world.rss"])
    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM]))
    service.start()
    service.wait_polls("/world.rss", 1)

    # Digests go out every 5 s of the clock: publish just after one goes, so
    # that the three alerts, matched within the next poll, share the next.
    wait_until(lambda: 0.2 < time.time() % 5 < 1.0, 10, "the start of a digest period")
    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM, *ERUPTIONS]))
    emails = wait_for_emails(service, TO_ADDR, 3)
    [digest] = wait_for_chat(service, 1)
    settle(service)
    assert service.stop() == 0

    assert len(chat_posts(service)) == 1
    text = message_of(digest)
    for item in ERUPTIONS:
        assert item["title"] in text
    assert "digest: 3 alerts" in text
    assert len(emails_to(service, TO_ADDR)) == 3  # no digest on email: one message each
    subjects = sorted(str(m["Subject"]) for m in emails)
    assert subjects == sorted(f"[newsmon] {item['title']}" for item in ERUPTIONS)


def test_a_rate_limited_channel_keeps_the_overflow_in_a_digest(service: Service) -> None:
    with_rules(service)
    service.options["channels"] = {"chat": {"max_per_hour": 1}}
    service.write_config(["/world.rss"])
    service.feeds.set_feed("/world.rss", rss(ERUPTIONS))
    service.start()

    wait_for_emails(service, TO_ADDR, 3)
    wait_for_chat(service, 1)
    settle(service)
    counts, _ = outbox(service)
    assert service.stop() == 0

    posts = chat_posts(service)
    assert len(posts) == 1, [p.get("title") for p in posts]
    assert any(item["title"] in message_of(posts[0]) for item in ERUPTIONS)
    # the two alerts over the limit wait for the next hour's digest, not dropped
    assert counts == {"pending": 0, "digest": 2, "dead": 0, "delivered": 4}


def test_quiet_hours_hold_chat_alerts_while_email_goes_out(service: Service) -> None:
    with_rules(service)
    now = datetime.now(UTC)
    window = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
    service.options["channels"] = {"chat": {"quiet": window}}  # across midnight near 00:00
    service.write_config(["/world.rss"])
    service.feeds.set_feed("/world.rss", rss([ERUPTIONS[2]]))
    service.start()

    [email] = wait_for_emails(service, TO_ADDR, 1)
    settle(service)
    counts, _ = outbox(service)
    assert service.stop() == 0

    assert ERUPTIONS[2]["title"] in str(email["Subject"])
    assert chat_posts(service) == []
    assert counts == {"pending": 1, "digest": 0, "dead": 0, "delivered": 1}


def test_a_failing_feed_is_reported_to_admin_once_and_its_recovery_too(
    service: Service,
) -> None:
    service.write_channels(email=True, chat=True, admin=True)
    service.options["health"] = {"failures": 2}
    service.interval = "0.5s"  # failed polls back off: 1 s, 2 s, 4 s…
    service.write_config(["/world.rss"])
    service.feeds.set_status("/world.rss", 500)
    service.start()

    [failing] = wait_for_emails(service, ADMIN_ADDR, 1)
    service.wait_polls("/world.rss", 1, timeout=30)  # failing still: no second notice
    assert len(emails_to(service, ADMIN_ADDR)) == 1

    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM]))
    notices = wait_for_emails(service, ADMIN_ADDR, 2)
    service.wait_polls("/world.rss", 2)  # healthy still: no further notice
    assert service.stop() == 0

    assert len(emails_to(service, ADMIN_ADDR)) == 2
    assert "feed failing: Loopback /world.rss" in str(failing["Subject"])
    assert "500" in text_of(failing)  # what is wrong with it
    assert "feed recovered: Loopback /world.rss" in str(notices[1]["Subject"])
    assert emails_to(service, TO_ADDR) == []  # the alert channels are not told
    assert chat_posts(service) == []


def test_held_alerts_go_out_when_quiet_hours_end(service: Service) -> None:
    with_rules(service)
    window, end = quiet_for_seconds(QUIET_SECONDS)
    service.options["channels"] = {"chat": {"quiet": window}}
    service.write_config(["/world.rss"])
    service.feeds.set_feed("/world.rss", rss([ERUPTIONS[0]]))
    service.start()

    wait_for_emails(service, TO_ADDR, 1)
    assert chat_posts(service) == []  # still quiet
    [chat] = wait_for_chat(service, 1, timeout=QUIET_SECONDS + 30)
    released = datetime.now(UTC)
    settle(service)
    assert service.stop() == 0

    assert released >= end
    assert ERUPTIONS[0]["title"] in message_of(chat)
    assert len(chat_posts(service)) == 1


def test_a_silent_feed_is_reported_to_admin_and_its_return_too(service: Service) -> None:
    service.write_channels(email=True, chat=True, admin=True)
    # Silent after twice its usual gap between new items, and at least 2 s.
    service.options["health"] = {"silence": 2, "min_silence": "2s"}
    service.interval = "0.5s"
    service.write_config(["/world.rss"])
    service.feeds.set_feed("/world.rss", rss([ERUPTIONS[0]]))
    service.start()
    service.wait_polls("/world.rss", 2)
    service.feeds.set_feed("/world.rss", rss(ERUPTIONS[:2]))  # a second new item: a cadence

    [silent] = wait_for_emails(service, ADMIN_ADDR, 1, timeout=60)
    service.feeds.set_feed("/world.rss", rss(ERUPTIONS))  # news again
    notices = wait_for_emails(service, ADMIN_ADDR, 2, timeout=60)
    assert service.stop() == 0

    assert "feed silent: Loopback /world.rss" in str(silent["Subject"])
    assert "feed recovered: Loopback /world.rss" in str(notices[1]["Subject"])
