"""End to end: `newsmon run` with `websub:` on, against a real WebSub hub and a
feed server that advertises it, on loopback. A story the hub pushes alerts
without a poll; a forged push is ignored; intent is confirmed only for what the
service asked; the lease is renewed before it ends; a hub that denies leaves
the feed polled as usual."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Service
from tests.feedserver import rss
from tests.servers import free_port
from tests.websubhub import WebSubHub, advertise, spice_story

pytestmark = pytest.mark.e2e

RULE = "rules:\n  - name: spice-watch\n    match: 'zanzibar AND spice*'\n"
QUIET = {"title": "Best Thai food in town", "link": "https://news.example.org/thai", "guid": "t"}


@pytest.fixture
def hub() -> Iterator[WebSubHub]:
    with WebSubHub() as running:
        yield running


def pushed(service: Service, hub: WebSubHub, interval: str, **websub: object) -> str:
    """The feed advertises ``hub``; the service is set to subscribe. Its topic."""
    port = free_port()
    service.interval = interval
    service.options["websub"] = {
        "callback": f"http://127.0.0.1:{port}/websub",
        "listen": f"127.0.0.1:{port}",
        **websub,
    }
    service.write_config(["/world.rss"])
    (service.rules / "push.yaml").write_text(RULE)
    topic = service.feeds.url("/world.rss")
    service.feeds.set_feed("/world.rss", advertise(rss([QUIET]), hub.url, topic))
    return topic


def alerted(service: Service) -> list[str]:
    return [str(body.get("title", "")) for body in service.webhook.bodies]


def test_a_pushed_story_alerts_at_once_without_a_poll(service: Service, hub: WebSubHub) -> None:
    topic = pushed(service, hub, "1h")  # polling would take an hour
    service.start()
    hub.wait_for(lambda: bool(hub.live(topic)), 30, "the service's subscription")
    polls = len(service.feeds.requests_to("/world.rss"))

    latencies = []
    for n in range(5):
        started = time.monotonic()
        assert hub.publish(topic, rss([spice_story(n)]).encode()) == [200]
        service.webhook.wait_for(n + 1, timeout=30)
        latencies.append(time.monotonic() - started)
    print(
        f"\npublish → alert over {len(latencies)} pushes: "
        f"p50 {statistics.median(latencies):.3f} s, max {max(latencies):.3f} s"
    )
    assert len(service.feeds.requests_to("/world.rss")) == polls  # no poll brought them
    assert max(latencies) < 60  # far below the hour a poll would take

    # A forgery is answered 2xx (the forger learns nothing) and ignored.
    forged = {**spice_story(99), "title": "Zanzibar spice forgery"}
    assert hub.publish(topic, rss([forged]).encode(), secret="a guess") == [202]
    assert hub.publish(topic, rss([spice_story(5)]).encode()) == [200]
    service.webhook.wait_for(6, timeout=30)
    assert not any("forgery" in title for title in alerted(service))
    service.wait_log("ignored a push")

    # Intent is confirmed only for what the service asked.
    callback = hub.requests[0].callback
    assert hub.ask(callback, "subscribe", "https://elsewhere.example/feed")[0] == 404
    assert hub.ask(callback + "-not-ours", "subscribe", topic)[0] == 404
    assert hub.ask(callback, "unsubscribe", topic)[0] == 404
    assert service.stop() == 0
    assert "Traceback" not in service.output()


def test_the_lease_is_renewed_before_it_ends(service: Service, hub: WebSubHub) -> None:
    lease = 10  # seconds: renewed at 8, by a timer that ticks every second
    hub.lease = lease
    topic = pushed(service, hub, "1h")
    service.start()
    hub.wait_for(lambda: len(hub.verified()) >= 3, 60, "two renewals")
    first, second, third = hub.verified()[:3]
    print(f"\nrenewed after {second.at - first.at:.2f} s and {third.at - second.at:.2f} s")
    assert second.at < first.at + lease and third.at < second.at + lease  # never lapsed
    # past the first lease's end, the hub still pushes and the story alerts
    assert hub.publish(topic, rss([spice_story(1)]).encode()) == [200]
    service.webhook.wait_for(1, timeout=30)
    assert service.stop() == 0


def test_a_hub_that_denies_leaves_the_feed_polled_as_usual(
    service: Service, hub: WebSubHub
) -> None:
    hub.deny = True
    pushed(service, hub, "1s", poll_interval="1h")  # pushed, it would be polled hourly
    service.start()
    hub.wait_for(lambda: any(v.mode == "denied" for v in hub.verifications), 30, "denial")
    assert [v.status for v in hub.verifications] == [200]
    service.wait_log("denied the subscription")
    service.wait_polls("/world.rss", 3)  # still every second
    service.feeds.set_feed(
        "/world.rss",
        advertise(rss([spice_story(1), QUIET]), hub.url, service.feeds.url("/world.rss")),
    )
    service.webhook.wait_for(1, timeout=30)  # the poll brought it
    assert service.stop() == 0
