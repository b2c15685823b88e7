"""Publish → alert latency of a feed pushed by a WebSub hub, against a polled one.

One ``newsmon run`` (the embedded default) watches one loopback feed whose
stories all match a rule; the only channel is a loopback webhook. Two runs:

  pushed   the feed advertises a loopback WebSub hub (tests/websubhub.py) and
           ``websub:`` is on; its poll interval is an hour, so only a push can
           bring a story in time. Each story is published to the hub, which
           POSTs it, signed, to the service's callback.
  polled   no hub; the feed is polled every ``--interval``. Each story is put
           in the feed at a random moment of the poll cycle.

Each story is published once the previous one alerted; the latency is from
the publish (the hub's POST, or the feed's change) until its alert reaches the
webhook. Prints p50, p95 and max for both (and the first story's, which
carries the service's warm-up) and the ratio of the medians, and returns the
target (under 2 s for a pushed feed, at p95) for benchmarks/run_all.py. The
machine is shared: read the ratio before the absolute numbers.

    .venv/bin/python benchmarks/bench_websub.py [--pushes 50] [--polls 20] [--interval 5s]
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import Target
from monitor.core.schedule import parse_duration
from tests.e2e.conftest import Service
from tests.feedserver import FeedServer, rss
from tests.servers import SmtpSink, WebhookSink
from tests.websubhub import WebSubHub, advertise, spice_story

RULE = "rules:\n  - name: spice-watch\n    match: 'zanzibar AND spice*'\n"
QUIET = {"title": "Best Thai food in town", "link": "https://news.example.org/thai", "guid": "t"}
ALERT_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def workspace(root: Path, feeds: FeedServer, interval: str) -> Service:
    smtp, webhook = SmtpSink().start(), WebhookSink().start()
    service = Service(root, feeds, smtp, webhook, interval=interval)
    service.write_channels(email=False, chat=True)
    (service.rules / "bench.yaml").write_text(RULE)
    return service


def close(service: Service) -> None:
    service.kill_all()
    service.smtp.stop()
    service.webhook.stop()


def pushed(root: Path, count: int) -> list[float]:
    latencies: list[float] = []
    with FeedServer() as feeds, WebSubHub() as hub:
        service = workspace(root, feeds, "1h")
        port = free_port()
        service.options["websub"] = {
            "callback": f"http://127.0.0.1:{port}/websub",
            "listen": f"127.0.0.1:{port}",
        }
        service.write_config(["/world.rss"])
        topic = feeds.url("/world.rss")
        feeds.set_feed("/world.rss", advertise(rss([QUIET]), hub.url, topic))
        try:
            service.start()
            hub.wait_for(lambda: bool(hub.live(topic)), 60, "the service's subscription")
            for n in range(count):
                started = time.monotonic()
                statuses = hub.publish(topic, rss([spice_story(n)]).encode())
                if statuses != [200]:
                    raise RuntimeError(f"push {n} answered {statuses}")
                service.webhook.wait_for(n + 1, timeout=ALERT_TIMEOUT)
                latencies.append(time.monotonic() - started)
            service.stop()
        finally:
            close(service)
    return latencies


def polled(root: Path, count: int, interval: float, rng: random.Random) -> list[float]:
    latencies: list[float] = []
    with FeedServer() as feeds:
        service = workspace(root, feeds, f"{interval:g}s")
        service.write_config(["/world.rss"])
        items = [QUIET]
        feeds.set_feed("/world.rss", rss(items), etag='"0"')
        try:
            service.start()
            service.wait_polls("/world.rss", 1, timeout=60)
            for n in range(count):
                time.sleep(rng.uniform(0, interval))  # a random phase of the poll cycle
                items.insert(0, spice_story(n))
                started = time.monotonic()
                feeds.set_feed("/world.rss", rss(items), etag=f'"{n + 1}"')
                service.webhook.wait_for(n + 1, timeout=ALERT_TIMEOUT)
                latencies.append(time.monotonic() - started)
            service.stop()
        finally:
            close(service)
    return latencies


def p95(latencies: Sequence[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summary(name: str, latencies: Sequence[float]) -> str:
    return (
        f"{name:<20} {len(latencies):>4} stories  p50 {statistics.median(latencies):7.3f} s"
        f"  p95 {p95(latencies):7.3f} s  max {max(latencies):7.3f} s"
        f"  (the first {latencies[0]:.3f} s)"
    )


def main(argv: Sequence[str] | None = None) -> list[Target]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pushes", type=int, default=50, help="stories pushed by the hub")
    parser.add_argument("--polls", type=int, default=20, help="stories found by polling")
    parser.add_argument("--interval", default="5s", help="the polled feed's interval")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    interval = parse_duration(args.interval)
    with tempfile.TemporaryDirectory(prefix="bench-websub-") as tmp:
        root = Path(tmp)
        (root / "pushed").mkdir()
        (root / "polled").mkdir()
        push = pushed(root / "pushed", args.pushes)
        poll = polled(root / "polled", args.polls, interval, random.Random(args.seed))
    print("publish → alert, embedded newsmon run, one feed, loopback")
    print(summary("pushed", push))
    print(summary(f"polled every {interval:g} s", poll))
    print(f"polled / pushed, p50: {statistics.median(poll) / statistics.median(push):.1f}x")
    return [
        Target(
            "WebSub: publish → alert under 2 s for a pushed feed (p95)",
            p95(push) < 2.0,
            f"p50 {statistics.median(push):.3f} s, p95 {p95(push):.3f} s, "
            f"max {max(push):.3f} s over {len(push)} pushes",
        )
    ]


if __name__ == "__main__":
    main()
