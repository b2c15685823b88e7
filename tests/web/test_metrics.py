"""/metrics of a running service, over real HTTP: Prometheus' text format,
behind the token, counting what a user would watch: the polls and why they
failed, the items, each rule's matches, each channel's alerts sent and failed,
how long a story took from its publication to its alert, and the outbox."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Service, wait_until
from tests.feedserver import rss
from tests.servers import free_port
from tests.web.conftest import TOKEN, WebService, start_web

pytestmark = pytest.mark.e2e


def story() -> dict[str, object]:
    """The story, published ten minutes before now (when the test runs, not
    when the suite imported this module)."""
    return {
        "title": "Cross-strait tensions rise as PLA aircraft cross median line",
        "link": "https://news.example.org/asia/median-line",
        "guid": "median-line-1",
        "description": "Taiwan's defence ministry tracked the aircraft for hours.",
        "pubDate": datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10),
    }


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(f"{base}/metrics", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(text: str) -> Samples:
    """Every sample of the exposition, by name and labels (parsing it proves it valid)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: Samples, name: str, **labels: str) -> float:
    """The sample's value; a KeyError when there is no such series."""
    return metrics[(name, frozenset(labels.items()))]


class Scraper:
    def __init__(self, base: str) -> None:
        self.base = base
        self.last: Samples = {}

    def __call__(self) -> Samples:
        status, text = scrape(self.base, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200, text
        self.last = samples(text)
        return self.last

    def wait(self, name: str, at_least: float = 1, **labels: str) -> Samples:
        wait_until(
            lambda: self().get((name, frozenset(labels.items())), 0.0) >= at_least,
            30,
            f"{name}{labels} >= {at_least}",
        )
        return self.last


def test_a_story_alerted_shows_in_the_metrics(web_service: WebService) -> None:
    service = web_service.service
    scraper = Scraper(web_service.base)
    assert scrape(web_service.base, {})[0] == 401  # the token is needed

    # the feed is not there yet: its polls fail, counted by reason and not by URL
    scraper.wait("newsmon_fetches_total", outcome="error", reason="http_4xx")
    assert service.feeds.url("/world.rss") not in scrape(web_service.base, web_service.auth)[1]

    service.feeds.set_feed("/world.rss", rss([story()]), etag='"v1"')
    service.webhook.wait_for(1, timeout=30)
    service.smtp.wait_for(1, timeout=30)
    chat = {"channel": f"json://127.0.0.1:{service.webhook.port}", "tags": "chat"}
    metrics = scraper.wait("newsmon_alerts_sent_total", **chat)
    metrics = scraper.wait("newsmon_publish_to_alert_seconds_count", at_least=2)

    assert value(metrics, "newsmon_fetches_total", outcome="ok", reason="") >= 1
    assert value(metrics, "newsmon_fetch_duration_seconds_count", outcome="ok") >= 1
    assert value(metrics, "newsmon_items_seen_total") == 1
    assert value(metrics, "newsmon_rule_matches_total", rule="taiwan") == 1
    assert value(metrics, "newsmon_alerts_sent_total", **chat) == 1
    assert value(metrics, "newsmon_alerts_failed_total", **chat) == 0
    # email and chat, each at least the ten minutes since the story was published
    assert value(metrics, "newsmon_publish_to_alert_seconds_count") == 2
    assert 2 * 600 <= value(metrics, "newsmon_publish_to_alert_seconds_sum") < 2 * 900
    assert value(metrics, "newsmon_publish_to_alert_seconds_bucket", le="300.0") == 0
    assert value(metrics, "newsmon_match_to_alert_seconds_count") == 2
    for state in ("pending", "digest", "dead"):
        assert value(metrics, "newsmon_outbox_alerts", state=state) == 0

    # polled again: the same document, not read again
    service.wait_polls("/world.rss", 2)
    scraper.wait("newsmon_fetches_total", outcome="not_modified", reason="")


@pytest.fixture
def failing_chat(service: Service) -> Iterator[tuple[WebService, int]]:
    """The service with its chat channel on a port nobody listens on, its URL
    full of secrets; and that port."""
    refused = free_port()
    chat = f"json://newsmon:hunter2-pass@127.0.0.1:{refused}/chat/s3cret-path?+X-Token=s3cret-hdr"
    (service.root / "config" / "apprise.yml").write_text(
        f"version: 1\nurls:\n  - {service.smtp.apprise_url()}:\n      tag: email\n"
        f"  - {chat}:\n      tag: chat\n"
    )
    service.feeds.set_feed("/world.rss", rss([story()]), etag='"v1"')
    yield start_web(service), refused


def test_a_failing_channel_counts_failed_alerts_and_its_secrets_stay_out(
    failing_chat: tuple[WebService, int],
) -> None:
    web, refused = failing_chat
    scraper = Scraper(web.base)
    chat = {"channel": f"json://127.0.0.1:{refused}", "tags": "chat"}
    email = {"channel": f"mailto://127.0.0.1:{web.service.smtp.port}", "tags": "email"}
    web.service.smtp.wait_for(1, timeout=30)
    metrics = scraper.wait("newsmon_alerts_failed_total", **chat)
    metrics = scraper.wait("newsmon_alerts_sent_total", **email)

    assert value(metrics, "newsmon_alerts_sent_total", **chat) == 0
    # the chat alert waits in the outbox to be retried
    assert value(metrics, "newsmon_outbox_alerts", state="pending") == 1
    assert value(metrics, "newsmon_outbox_alerts", state="dead") == 0
    # only the alert that went out is timed
    assert value(metrics, "newsmon_publish_to_alert_seconds_count") == 1

    _, text = scrape(web.base, web.auth)
    secrets = ("hunter2-pass", "s3cret-path", "s3cret-hdr", "newsmon:", TOKEN)
    for secret in (*secrets, web.service.smtp.password):
        assert secret not in text
