"""WebSub with two workers on one host (Kafka and PostgreSQL): both serve the
callback port, one subscription is asked of the hub however many workers there
are, and a push alerts once, whichever worker the hub reaches, also after the
worker that took the earlier pushes has stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Service, Worker, wait_until
from tests.e2e.test_websub_push import QUIET, RULE, free_port
from tests.feedserver import rss
from tests.websubhub import WebSubHub, advertise, spice_story

pytestmark = pytest.mark.distributed


@pytest.fixture
def hub() -> Iterator[WebSubHub]:
    with WebSubHub() as running:
        yield running


def took(worker: Worker) -> int:
    """The pushes this worker received (its log line for each)."""
    return worker.output().count("websub: pushed ")


def alerts_for(cluster: Service, title: str) -> int:
    return sum(title in str(body.get("title", "")) for body in cluster.webhook.bodies)


def test_two_workers_share_the_callback_and_each_push_alerts_once(
    cluster: Service, hub: WebSubHub
) -> None:
    port = free_port()
    cluster.interval = "1h"  # only a push can bring the stories in time
    cluster.options["websub"] = {
        "callback": f"http://127.0.0.1:{port}/websub",
        "listen": f"127.0.0.1:{port}",
    }
    cluster.write_channels(email=False, chat=True)
    cluster.write_config(["/world.rss"])
    (cluster.rules / "push.yaml").write_text(RULE)
    topic = cluster.feeds.url("/world.rss")
    cluster.feeds.set_feed("/world.rss", advertise(rss([QUIET]), hub.url, topic))

    a = cluster.start("a")
    b = cluster.start("b")  # the same listen address: both serve it
    hub.wait_for(lambda: bool(hub.live(topic)), 60, "the deployment's subscription")

    def publish(n: int) -> None:
        story = spice_story(n)
        assert hub.publish(topic, rss([story]).encode()) == [200]
        wait_until(lambda: alerts_for(cluster, story["title"]) >= 1, 60, f"the alert for push {n}")

    for n in range(3):
        publish(n)
    first = a if took(a) else b  # the hub keeps its connection: one worker took them
    second = b if first is a else a
    assert took(first) == 3 and took(second) == 0

    # The worker the hub was talking to stops: the next push reaches the other.
    assert cluster.stop(name=first.name) == 0
    for n in range(3, 6):
        publish(n)
    assert took(second) == 3

    # One alert a story, and one subscription asked of the hub, not one a worker.
    assert len(cluster.webhook.bodies) == 6
    assert all(alerts_for(cluster, spice_story(n)["title"]) == 1 for n in range(6))
    assert [r.mode for r in hub.requests if r.topic == topic] == ["subscribe"]
    assert cluster.stop(name=second.name) == 0
    for worker in (a, b):
        assert "Traceback" not in worker.output()
        assert "cannot listen" not in worker.output()
